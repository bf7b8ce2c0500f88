import type { HistogramView } from '../src/api.js';

/** 1234 -> "1,234"; null -> "—". */
export function count(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? '—' : Math.round(value).toLocaleString('en-US');
}

/** Per second, one decimal below 10. */
export function perSecond(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return `${value < 10 ? value.toFixed(1) : count(value)}/s`;
}

/** A share of a second, as Flink shows busy time: 0–1000 ms per second as a percentage. */
export function percentOfSecond(msPerSecond: number | null | undefined): string {
  return msPerSecond === null || msPerSecond === undefined ? '—' : `${Math.round(Math.min(1000, Math.max(0, msPerSecond)) / 10)}%`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 120 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${unit === 0 ? n : n.toFixed(1)} ${units[unit]}`;
}

export function clockTime(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString('en-GB');
}

/** A metric's value as a number (a histogram counts its updates). */
export function numberOf(value: number | HistogramView | undefined): number | undefined {
  return typeof value === 'object' ? value.count : value;
}
