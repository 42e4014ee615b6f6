/**
 * A self-contained HTML report: text, tables and inline SVG figures, styles in the page, no scripts, fonts
 * or images from anywhere else, so it opens offline and can be mailed as one file.
 */

export interface ReportTable {
  header: readonly string[];
  rows: readonly (readonly string[])[];
}

export interface ReportSection {
  heading: string;
  paragraphs?: readonly string[];
  table?: ReportTable;
  /** Inline `<svg>` elements (from ./render.ts). */
  figures?: readonly string[];
}

export interface HtmlReport {
  title: string;
  subtitle?: string;
  sections: readonly ReportSection[];
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
.figures{display:flex;flex-wrap:wrap;gap:12px}.subtitle{color:#666}`;

export function htmlReport(report: HtmlReport): string {
  const sections = report.sections.map((section) => {
    const parts = [`<h2>${escapeHtml(section.heading)}</h2>`];
    for (const paragraph of section.paragraphs ?? []) parts.push(`<p>${escapeHtml(paragraph)}</p>`);
    if (section.table !== undefined) {
      const head = section.table.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join("");
      const rows = section.table.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`).join("\n");
      parts.push(`<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`);
    }
    if (section.figures !== undefined && section.figures.length > 0) parts.push(`<div class="figures">\n${section.figures.map((svg) => `<figure>${svg}</figure>`).join("\n")}\n</div>`);
    return `<section>\n${parts.join("\n")}\n</section>`;
  });
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(report.title)}</h1>`,
    ...(report.subtitle !== undefined ? [`<p class="subtitle">${escapeHtml(report.subtitle)}</p>`] : []),
    ...sections,
    "</body></html>",
    "",
  ].join("\n");
}
