// Causal confirmation: what a session allows the agents to do to prove a suspect (briefly
// restrain it and watch the victim), and what they report back. Off unless asked for:
// it changes another workload's resources for a few seconds.
import { z } from 'zod';

import { defaulted, dnsLabel, listSet, podRefSchema } from './meta.js';

export const confirmLimits = {
  /** Upper bound of spec.confirm.maxSeconds. */
  maxSeconds: 30,
} as const;

export const confirmSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe("Restrain a victim's top suspect for a few seconds to see whether the victim recovers."),
    maxSeconds: z
      .int()
      .min(1)
      .max(confirmLimits.maxSeconds)
      .default(5)
      .describe(
        `How long the suspect is restrained, 1 to ${confirmLimits.maxSeconds} s; the victim is also watched as long before and after.`,
      ),
    minScore: z
      .int()
      .min(50)
      .max(100)
      .default(50)
      .describe(
        'Only the top suspect of a victim whose window scored at least this is tested: 50 (Medium, the least) to 100.',
      ),
    excludeNamespaces: listSet(dnsLabel, 64)
      .default([])
      .describe('Pods in these namespaces are never restrained (kube-system never is).'),
    cpu: defaulted(
      z
        .object({
          enabled: z.boolean().default(true).describe('Restrain CPU suspects with a temporary CPU quota.'),
          quotaMillicores: z
            .int()
            .min(10)
            .max(1000)
            .default(100)
            .describe("The suspect pod's CPU quota while restrained, in millicores (cpu.max / cpu.cfs_quota_us)."),
        })
        .describe('CPU restraint.'),
    ),
    io: defaulted(
      z
        .object({
          enabled: z.boolean().default(true).describe('Restrain IO suspects with a temporary throttle on the disk.'),
          bytesPerSecond: z
            .int()
            .min(64 * 1024)
            .max(1024 ** 3)
            .default(1024 * 1024)
            .describe(
              "The suspect pod's read and write bandwidth on the victim's disk while restrained (io.max / blkio throttle).",
            ),
        })
        .describe('IO restraint; memory is never touched.'),
    ),
  })
  .describe(
    "Causal confirmation (off by default): briefly restrain a victim's top suspect and measure whether the victim recovers.",
  );
export type Confirm = z.output<typeof confirmSchema>;

export const confirmationResults = ['Running', 'Confirmed', 'NotConfirmed', 'Skipped'] as const;
export type ConfirmationResult = (typeof confirmationResults)[number];

const percent = (d: string) => z.number().min(0).describe(d);

export const confirmationSchema = z
  .object({
    result: z
      .enum(confirmationResults)
      .describe(
        "Running; Confirmed (the victim's loss fell by at least half while the suspect was restrained and came back after); NotConfirmed; Skipped (see reason).",
      ),
    reason: z.string().max(200).optional().describe('Why it was skipped, or what the figures mean.'),
    suspect: podRefSchema.describe('The pod that was (or would have been) restrained.'),
    lossBeforePercent: percent("The victim's loss of the resource before the restraint, percent.").optional(),
    lossDuringPercent: percent('... while the suspect was restrained.').optional(),
    lossAfterPercent: percent('... after it was released.').optional(),
    restrainedSeconds: z.number().min(0).optional().describe('How long the suspect was restrained.'),
    restraint: z
      .string()
      .max(160)
      .optional()
      .describe(
        'What was written and where, e.g. "cpu.max 10000 100000 (100m)" or "io.max 254:0 rbps=1048576 wbps=1048576".',
      ),
  })
  .describe('The outcome of restraining this aggressor to prove it.');
export type Confirmation = z.output<typeof confirmationSchema>;
