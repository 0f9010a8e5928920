import { parseApiPath, parseCredentialsFile } from '../../src/bigcommerce/credentials';

describe('parseCredentialsFile', () => {
  test('reads the labels in any order, ignores other lines, tolerates CRLF and spaces', () => {
    const text = '\uFEFFCLIENT SECRET: sec\r\nsome header line\r\n  API PATH :  https://api.bigcommerce.com/stores/abc123/v3/ \r\nACCESS TOKEN: tok\r\nCLIENT ID: cid\r\nCLIENT NAME: Loyalty\r\n';
    expect(parseCredentialsFile(text)).toEqual({
      clientSecret: 'sec',
      apiPath: 'https://api.bigcommerce.com/stores/abc123/v3/',
      accessToken: 'tok',
      clientId: 'cid',
      name: 'Loyalty',
    });
  });
  test('NAME is used when there is no CLIENT NAME; CLIENT NAME wins otherwise', () => {
    expect(parseCredentialsFile('NAME: a').name).toBe('a');
    expect(parseCredentialsFile('CLIENT NAME: b\nNAME: a').name).toBe('b');
  });
  test('an empty or unrelated file gives nothing', () => {
    expect(parseCredentialsFile('')).toEqual({});
    expect(parseCredentialsFile('hello\nworld: 1')).toEqual({});
  });
});

describe('parseApiPath', () => {
  const origin = 'https://api.bigcommerce.com';
  test.each([
    ['https://api.bigcommerce.com/stores/abc123/v3/', 'abc123'],
    ['https://api.bigcommerce.com/stores/ABC123/v3', 'abc123'],
    ['https://api.bigcommerce.com/stores/abc123/v2/', 'abc123'],
    ['https://api.bigcommerce.com/stores/abc123', 'abc123'],
  ])('%s → %s', (p, hash) => expect(parseApiPath(p, origin)).toEqual({ storeHash: hash, apiBase: `${origin}/stores/${hash}` }));
  test.each([
    'https://evil.example.com/stores/abc123/v3/',
    'http://api.bigcommerce.com/stores/abc123/v3/',
    'https://api.bigcommerce.com:8443/stores/abc123/v3/',
    'https://user:pw@api.bigcommerce.com/stores/abc123/v3/',
    'https://api.bigcommerce.com/stores/abc123/v3/?x=1',
    'https://api.bigcommerce.com/stores/../admin/v3/',
    'https://api.bigcommerce.com/other/abc123/v3/',
    'not a url',
  ])('%s is refused', (p) => expect(parseApiPath(p, origin)).toHaveProperty('error'));
});
