/**
 * The sandbox's own judgement of an email address in an imported file, kept apart from the
 * pipeline's pre-check (src/upload/validate.ts) so that a bug there shows up as a disagreement
 * instead of being copied into the fake SFMC.
 *
 * The rules are the ones Salesforce publishes for import-time validation ("Subscriber Email Address
 * Validation in Marketing Cloud Engagement", help.salesforce.com/s/articleView?id=005226498):
 * invalid are two or more `@`, no `@`, a top-level domain of one character or none, multibyte
 * characters and spaces; a period right before `@` and consecutive periods are accepted. The
 * 100-character local part and 254-character total are that page's limits for an EmailAddress field
 * of a data extension, applied here to lists too. An empty local part or an empty domain label
 * (`@example.com`, `a@.example.com`) is refused: the page does not say, so that is UNVERIFIED.
 */

const MAX_LOCAL = 100;
const MAX_TOTAL = 254;

export function sfmcAcceptsEmail(address: string): boolean {
  if (address.length === 0 || address.length > MAX_TOTAL) return false;
  // Printable ASCII only: no spaces, no multibyte characters.
  if (!/^[\x21-\x7e]+$/.test(address)) return false;
  const parts = address.split('@');
  if (parts.length !== 2) return false;
  const [local, domain] = parts as [string, string];
  if (local.length === 0 || local.length > MAX_LOCAL) return false;
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((l) => l.length === 0)) return false;
  return (labels.at(-1) as string).length >= 2;
}
