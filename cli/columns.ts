// Fixed-width columns for tools that print a line per event as it happens (a table
// cannot wait for its widest cell): every column but the last is padded to its width,
// and a cell wider than that still gets one space after it.

export interface Column {
  readonly title: string;
  readonly width: number;
  readonly align?: 'right';
}

export function formatRow(columns: readonly Column[], cells: readonly string[]): string {
  return cells
    .map((cell, i) => {
      const column = columns[i];
      if (!column || i === cells.length - 1) return column?.align === 'right' ? cell.padStart(column.width) : cell;
      return `${column.align === 'right' ? cell.padStart(column.width) : cell.padEnd(column.width)} `;
    })
    .join('')
    .trimEnd();
}

export function formatHeader(columns: readonly Column[]): string {
  return formatRow(
    columns,
    columns.map((c) => c.title),
  );
}

/** Wall-clock time of day, as the BCC tools print it: HH:MM:SS. */
export function clockTime(date: Date): string {
  return date.toTimeString().slice(0, 8);
}

export function milliseconds(ns: number, digits = 2): string {
  return (ns / 1e6).toFixed(digits);
}
