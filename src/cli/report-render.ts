// Renders a report (titled sections of lines and tables) as plain text, markdown, or markdown for a
// GitHub job summary.
import { type Column, markdownTable, textTable } from "./table";

export interface ReportTable {
  columns: Column[];
  rows: string[][];
  /** Rows beyond what markdown shows: they are counted, not printed (a job summary has a size cap). */
  markdownLimit?: number;
}

export interface ReportSection {
  title: string;
  lines: string[];
  table?: ReportTable;
  /** In a job summary the section folds away (long per-crate tables). */
  collapsible?: boolean;
}

export interface ReportModel {
  title: string;
  sections: ReportSection[];
}

export function renderText(model: ReportModel, colour: boolean): string {
  const parts = [`${model.title}\n`];
  for (const section of model.sections) {
    let part = `\n${section.title}\n${"-".repeat(section.title.length)}\n`;
    for (const line of section.lines) part += `${line}\n`;
    if (section.table?.rows.length) part += textTable(section.table.columns, section.table.rows, colour);
    parts.push(part);
  }
  return parts.join("");
}

function markdownSectionTable(table: ReportTable): string {
  const limit = table.markdownLimit ?? table.rows.length;
  let text = markdownTable(table.columns, table.rows.slice(0, limit));
  if (table.rows.length > limit)
    text += `\n… and ${table.rows.length - limit} more (see \`kache report --format json\`)\n`;
  return text;
}

/** `github` folds collapsible sections into `<details>`, which GitHub renders in a job summary. */
export function renderMarkdown(model: ReportModel, github: boolean): string {
  const parts = [`## ${model.title}\n`];
  for (const section of model.sections) {
    const body = [
      ...section.lines.map((line) => `- ${line}\n`),
      ...(section.lines.length && section.table?.rows.length ? ["\n"] : []),
      ...(section.table?.rows.length ? [markdownSectionTable(section.table)] : []),
    ].join("");
    if (github && section.collapsible)
      parts.push(`\n<details><summary>${section.title}</summary>\n\n${body}\n</details>\n`);
    else parts.push(`\n### ${section.title}\n\n${body}`);
  }
  return parts.join("");
}
