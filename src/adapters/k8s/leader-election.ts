import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../ports.ts';

/** client-go's timing for leader election: a lease of 15 s, renewed within 10 s, tried every 2 s. */
export const LEASE_TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export interface LeaderElectionOptions {
  kubeconfig: KubeConfig;
  namespace: string;
  /** The Lease's name: one per app, shared by its replicas. */
  name: string;
  /** This replica, as the Lease names its holder (the pod's name). */
  identity: string;
  /**
   * Where the other replicas reach this one while it leads (`http://<pod IP>:<port>`), written on
   * the Lease as the annotation LEADER_ADDRESS, so they can hand the leader what only it uses.
   */
  address?: string;
  log: Logger;
  timing?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  now?: () => number;
}

/** What the leader does: started when this replica takes the Lease, stopped when it loses it. */
export interface LeaderDuties {
  start(): void;
  /** Stops everything the leader runs; done before another replica can take the Lease. */
  stop(): void;
}

const codeOf = (error: unknown) => (error as { code?: number }).code;

/** The Lease annotation where its holder says where it is reached. */
export const LEADER_ADDRESS = 'edgeship.dev/leader-address';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * - a replica takes the Lease when it is free, or when its holder has not renewed it for the
 *   lease duration, measured on this replica's clock from when it last saw the Lease change
 *   (so clocks that disagree do not matter);
 * - every write carries the resourceVersion it read, so of two replicas racing for it one wins;
 * - the leader renews every retry period, and stops leading when it has not renewed for the
 *   renew deadline, which is shorter than the lease duration: it has stopped its duties before
 *   another replica may take over;
 * - on close it gives the Lease up, so the next leader need not wait out the lease.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly timing: NonNullable<LeaderElectionOptions['timing']>;
  private readonly now: () => number;
  private leading = false;
  private lastRenewed = 0;
  private observed: { key: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> = Promise.resolve();
  /** The address the current holder wrote, as of the last read; undefined when none holds it. */
  private holderAddress: string | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.api = options.kubeconfig.makeApiClient(CoordinationV1Api);
    this.timing = options.timing ?? LEASE_TIMING;
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Where the leader is reached: this replica's own address while it leads, else the one the
   * Lease's holder wrote, while its lease holds as last seen; undefined between leaders.
   */
  get leaderAddress(): string | undefined {
    return this.leading ? this.options.address : this.holderAddress;
  }

  /** Tries for the Lease now and every retry period until closed, starting and stopping `duties` as it is won and lost. */
  run(duties: LeaderDuties): void {
    // Said once the logger runs (Probot makes it as it starts), not when the elector is made.
    if (!this.options.address)
      this.options.log.warn(
        { lease: this.options.name },
        "No address for this replica (POD_IP): while it leads, the others cannot hand it what only the leader keeps, so they answer sites' analysis verdicts 503 and the sites send them again until one reaches the leader",
      );
    const step = async () => {
      if (this.closed) return;
      const held = await this.tryAcquireOrRenew();
      const now = this.now();
      if (held) this.lastRenewed = now;
      if (held && !this.leading) {
        this.leading = true;
        this.options.log.info(
          { lease: this.options.name, identity: this.options.identity },
          'Leading: this replica runs the schedule',
        );
        duties.start();
      } else if (!held && this.leading && now - this.lastRenewed >= this.timing.renewDeadlineMs) {
        this.leading = false;
        this.options.log.warn(
          { lease: this.options.name, identity: this.options.identity },
          'Lost the lease: this replica stops the schedule',
        );
        duties.stop();
      }
      // client-go waits a jittered retry period while following, a plain one while leading.
      const wait = this.leading ? this.timing.retryPeriodMs : this.timing.retryPeriodMs * (1 + Math.random() * 0.2);
      if (!this.closed) {
        this.timer = setTimeout(() => {
          this.running = step();
        }, wait);
      }
    };
    this.running = step();
  }

  /** Stops trying; a leader stops its duties and gives the Lease up. */
  async close(duties?: LeaderDuties): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    duties?.stop();
    await this.release();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = this.now();
    const duration = Math.round(this.timing.leaseDurationMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (codeOf(error) !== 404) return this.failed('read', error);
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace, ...this.annotations(undefined) },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: duration,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (created) {
        return codeOf(created) === 409 ? false : this.failed('create', created);
      }
    }
    const spec = lease.spec ?? {};
    const key = `${spec.holderIdentity ?? ''} ${spec.renewTime ? new Date(spec.renewTime).getTime() : ''} ${lease.metadata?.resourceVersion ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const holder = spec.holderIdentity ?? '';
    const mine = holder === identity;
    const expires = this.observed.at + (spec.leaseDurationSeconds ?? duration) * 1000;
    this.holderAddress = holder !== '' && expires > now ? lease.metadata?.annotations?.[LEADER_ADDRESS] : undefined;
    if (holder !== '' && !mine && expires > now) return false;
    try {
      const renewed = await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          metadata: { ...lease.metadata, ...this.annotations(lease.metadata?.annotations) },
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds: duration,
            acquireTime:
              mine && spec.acquireTime ? new V1MicroTime(new Date(spec.acquireTime).getTime()) : new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: mine
              ? (spec.leaseTransitions ?? 0)
              : (spec.leaseTransitions ?? 0) + (holder === '' ? 0 : 1),
          },
        },
      });
      this.observed = { key: `${identity} ${now} ${renewed.metadata?.resourceVersion ?? ''}`, at: now };
      return true;
    } catch (error) {
      // 409: another replica wrote it since the read; it holds the Lease now, or will.
      return codeOf(error) === 409 ? false : this.failed('update', error);
    }
  }

  /** The Lease's annotations with this replica's address, as its holder writes them. */
  private annotations(given: Record<string, string> | undefined): { annotations?: Record<string, string> } {
    const annotations = {
      ...withoutAddress(given),
      ...(this.options.address && { [LEADER_ADDRESS]: this.options.address }),
    };
    return Object.keys(annotations).length > 0 ? { annotations } : {};
  }

  /** Gives the Lease up: no holder, a one-second duration, so a follower takes it at its next try. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          metadata: { ...lease.metadata, annotations: withoutAddress(lease.metadata?.annotations) },
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) },
        },
      });
    } catch (error) {
      this.options.log.warn(
        { lease: name, err: messageOf(error) },
        'Could not give the lease up; it expires by itself',
      );
    }
  }

  private failed(verb: string, error: unknown): false {
    this.options.log.warn(
      { lease: this.options.name, verb, code: codeOf(error), err: messageOf(error).split('\n')[0] },
      'Lease call failed',
    );
    return false;
  }
}

function withoutAddress(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  return annotations && Object.fromEntries(Object.entries(annotations).filter(([key]) => key !== LEADER_ADDRESS));
}
