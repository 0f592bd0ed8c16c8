/**
 * `{{traits.first_name}}`, `{{content.offer}}`, `{{play}}`: values looked up by dotted path in a context object; a
 * missing value renders as nothing. In HTML templates values are escaped.
 */
export function renderTemplate(template: string, context: Record<string, unknown>, html = false): string {
  return template.replace(/\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g, (_, path: string) => {
    let v: unknown = context;
    for (const part of path.split('.')) {
      v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    }
    const text = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return html ? escapeHtml(text) : text;
  });
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
