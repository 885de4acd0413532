// The leader-election Lease as a coordination.k8s.io/v1 object, with optimistic updates.
import { z } from 'zod';

import type { LeaseRecord, LeaseStore } from '../leader-election.js';
import { isNotFound, type KubeClient } from '../../common/kube/client.js';
import { paths } from '../../common/kube/paths.js';

const leaseSchema = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string() }),
  spec: z
    .looseObject({
      holderIdentity: z.string().optional(),
      leaseDurationSeconds: z.number().optional(),
      acquireTime: z.string().optional(),
      renewTime: z.string().optional(),
      leaseTransitions: z.number().optional(),
    })
    .optional(),
});

export class KubeLeaseStore implements LeaseStore {
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  async get(): Promise<{ record: LeaseRecord; version: string } | undefined> {
    try {
      const lease = leaseSchema.parse(await this.client.get(paths.lease(this.namespace, this.name)));
      return { record: lease.spec ?? {}, version: lease.metadata.resourceVersion };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(record: LeaseRecord): Promise<string> {
    const created = await this.client.create(paths.lease(this.namespace), this.body(record));
    return leaseSchema.parse(created).metadata.resourceVersion;
  }

  async update(record: LeaseRecord, version: string): Promise<string> {
    const updated = await this.client.replace(paths.lease(this.namespace, this.name), this.body(record, version));
    return leaseSchema.parse(updated).metadata.resourceVersion;
  }

  private body(spec: LeaseRecord, resourceVersion?: string) {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec,
    };
  }
}
