import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, recordDelivery } from '../../src/metrics.js';
import { NO_SEND_COUNTS, type SendDelivery } from '../../src/sfmc/send-status.js';

const delivery = (d: Partial<SendDelivery>): SendDelivery => ({
  status: 'Complete',
  sentDate: '2026-12-01T10:00:00.000Z',
  ...NO_SEND_COUNTS,
  ...d,
});

describe('recording a tracked run\'s delivery', () => {
  it('adds delivered and bounced emails by outcome, the Send by status, and the delivered ratio', async () => {
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    recordDelivery(metrics, delivery({ numberSent: 100, numberDelivered: 94, hardBounces: 3, softBounces: 2, otherBounces: 1 }));
    recordDelivery(metrics, delivery({ numberSent: 10, numberDelivered: 10 }));
    recordDelivery(metrics, delivery({ status: 'Error' }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('list_send_delivery_emails_total{outcome="delivered"} 104');
    expect(text).toContain('list_send_delivery_emails_total{outcome="hard_bounce"} 3');
    expect(text).toContain('list_send_delivery_emails_total{outcome="soft_bounce"} 2');
    expect(text).toContain('list_send_delivery_emails_total{outcome="other_bounce"} 1');
    expect(text).toContain('list_send_delivery_sends_total{status="Complete"} 2');
    expect(text).toContain('list_send_delivery_sends_total{status="Error"} 1');
    // The Error run sent nothing and has no ratio; 0.94 falls in the 0.95 bucket, 1.0 only in 1.
    expect(text).toContain('list_send_delivery_ratio_count 2');
    expect(text).toContain('list_send_delivery_ratio_bucket{le="0.9"} 0');
    expect(text).toContain('list_send_delivery_ratio_bucket{le="0.95"} 1');
    expect(text).toContain('list_send_delivery_ratio_bucket{le="0.995"} 1');
    expect(text).toContain('list_send_delivery_ratio_bucket{le="1"} 2');
  });
});
