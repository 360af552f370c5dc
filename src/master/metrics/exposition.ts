/** The Prometheus text exposition format (version 0.0.4), written by hand: a few families need no library. */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string | number>>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

export class Exposition {
  private readonly lines: string[] = [];

  /** Starts a family: its HELP and TYPE lines. Its samples follow, before the next family. */
  family(name: string, type: MetricType, help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A histogram's samples from per-bucket counts (not cumulative; the last one is past the last bound). */
  histogram(name: string, labels: Labels, bounds: readonly number[], counts: readonly number[], sum: number): this {
    let cumulative = 0;
    bounds.forEach((bound, index) => {
      cumulative += counts[index];
      this.sample(`${name}_bucket`, { ...labels, le: formatValue(bound) }, cumulative);
    });
    cumulative += counts[bounds.length];
    this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, cumulative);
    this.sample(`${name}_sum`, labels, sum);
    return this.sample(`${name}_count`, labels, cumulative);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
