/**
 * Time a clinician attests in a message body, for vendors with no structured time-spent field (Elation,
 * Healthie): the last line reading `Time spent: <n> min` (or `Total time spent: <n> minutes`; decimals allowed).
 * Bodies may be HTML (Healthie notes are): block boundaries count as line breaks and tags are ignored, so
 * `<p>Time spent: 9 min</p>` is such a line.
 */
const timeSpentLine =
  /^[ \t]*(?:total )?time spent:[ \t]*(\d{1,4}(?:\.\d+)?)[ \t]*(?:min|mins|minutes?)\.?[ \t]*$/gim;

const asPlainText = (body: string): string =>
  body
    .replace(/<\s*(br|\/p|\/div|\/li|p|div|li)\b[^>]*>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&nbsp;/gi, " ");

/** The attested time in whole seconds, 0 when the body attests none. */
export function attestedSeconds(body: string | null | undefined): number {
  const minutes = [...asPlainText(body ?? "").matchAll(timeSpentLine)].at(-1)?.[1];
  return minutes === undefined ? 0 : Math.round(Number(minutes) * 60);
}
