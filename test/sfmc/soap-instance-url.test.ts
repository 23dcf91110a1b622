import { describe, expect, it } from 'vitest';
import { SOAP_INSTANCE_URL_RULE, soapInstanceUrlAllowed } from '../../src/sfmc/auth.js';

/** Issue #10: the token response's soap_instance_url receives the access token, so it is checked. */

describe("the token response's soap_instance_url", () => {
  it.each([
    ['the documented tenant endpoint', 'https://mc563885gzs27c5t9-63k636ttgm.soap.marketingcloudapis.com/'],
    ['the same in capitals', 'https://MC1.SOAP.MarketingCloudAPIs.com/'],
    ['plain http on loopback (the sandbox in tests)', 'http://127.0.0.1:9443/'],
    ['plain http on localhost', 'http://localhost:9443/'],
    ['plain http on IPv6 loopback', 'http://[::1]:9443/'],
  ])('accepts %s', (_name, url) => {
    expect(soapInstanceUrlAllowed(url)).toBe(true);
  });

  it('accepts a host named in SFMC_ALLOW_HTTP_HOSTS, over http or https, and only with it', () => {
    expect(soapInstanceUrlAllowed('http://sandbox:9443/', ['sandbox'])).toBe(true);
    expect(soapInstanceUrlAllowed('https://sandbox:9443/', ['sandbox'])).toBe(true);
    expect(soapInstanceUrlAllowed('http://sandbox:9443/')).toBe(false);
    expect(soapInstanceUrlAllowed('https://sandbox:9443/')).toBe(false);
  });

  it.each([
    ['plain http to SFMC', 'http://mc1.soap.marketingcloudapis.com/'],
    ['ftp', 'ftp://mc1.soap.marketingcloudapis.com/'],
    ['file', 'file:///etc/passwd'],
    ['another host over https', 'https://collector.example.com/'],
    ['the bare domain', 'https://marketingcloudapis.com/'],
    ['a look-alike suffix', 'https://evilmarketingcloudapis.com/'],
    ['the domain as a prefix of another', 'https://mc1.soap.marketingcloudapis.com.example.com/'],
    ['the domain as user info before another host', 'https://mc1.soap.marketingcloudapis.com@example.com/'],
    ['the domain in the fragment', 'https://example.com#.marketingcloudapis.com'],
    ['something that is not a URL', 'mc1.soap.marketingcloudapis.com'],
    ['a loopback look-alike name', 'http://127.0.0.1.example.com/'],
  ])('refuses %s', (_name, url) => {
    expect(soapInstanceUrlAllowed(url)).toBe(false);
  });

  it('states the rule the way an operator can act on it', () => {
    expect(SOAP_INSTANCE_URL_RULE).toMatch(/https:\/\/.*\.marketingcloudapis\.com.*SFMC_ALLOW_HTTP_HOSTS/);
  });
});
