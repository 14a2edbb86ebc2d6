// Line numbers as ranges, the way diff-cover prints "Missing lines":
// adjacent numbers join into "a-b" (two adjacent lines too), the pieces are
// joined by a bare comma (diff-cover 7.4's templates: `violation_lines|join(',')`
// over TemplateReportGenerator.combine_adjacent_lines).

/** [1,2,3,5,8,9] -> "1-3,5,8-9"; [] -> "". Unsorted or repeated input is sorted and deduplicated first. */
export function formatRanges(lines: readonly number[]): string {
  let sorted = true;
  for (let i = 1; i < lines.length; i++)
    if (lines[i] <= lines[i - 1]) {
      sorted = false;
      break;
    }
  const ls = sorted ? lines : [...new Set(lines)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < ls.length;) {
    let j = i;
    while (j + 1 < ls.length && ls[j + 1] === ls[j] + 1) j++;
    parts.push(j === i ? String(ls[i]) : `${ls[i]}-${ls[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
