/** The sum of the series `name` in Prometheus text whose labels include every one of `labels` (each written `key="value"`). */
export function sumSeries(text: string, name: string, ...labels: string[]): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && labels.every((label) => l.includes(label)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
