/** Placeholder: the full table follows in the next commit. */
export function describeAsc(asc: number, ascq: number): string {
  return `ASC 0x${asc.toString(16).padStart(2, '0')}, ASCQ 0x${ascq.toString(16).padStart(2, '0')}`;
}
