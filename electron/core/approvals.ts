// Approvals: my consent to one snapshot and its runner, carrying my data keys for the assets it
// reads, each opened from its seal to my own box key and sealed again to the runner's box key,
// bound to the snapshot and asset. Nothing else ever releases a key. Revocation withdraws it.
import { type Approval, defaultApprovalDays, defaultApprovalRuns, sealDataKey } from '../../shared/approval.js';
import { fromBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { type Snapshot } from '../../shared/notebook.js';
import { type Assets } from './assets.js';
import { type UnlockedKeys } from './keystore.js';
import { type Rooms, type StoredRoom } from './rooms.js';
import { openOwnDataKey } from './vault.js';

const dayMs = 24 * 60 * 60 * 1000;
const shortId = (id: string): string => id.slice(0, 12);

export interface GrantOptions {
  readonly expiresDays?: number;
  readonly runs?: number;
}

export class Approvals {
  constructor(
    private readonly rooms: Rooms,
    private readonly assets: Assets,
    private readonly clock: () => Date,
  ) {}

  /** My approval of a snapshot: my keys for the assets it reads, sealed to its runner. */
  private approvalFor(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys, snapshot: Snapshot, snapshotId: string, options: GrantOptions): Approval {
    const state = this.rooms.state(room);
    const runner = state.members.find((member) => member.signPublicKey === snapshot.runner);
    if (runner === undefined) throw new CleanroomError('NOT_A_MEMBER', `The snapshot's runner is not a member of ${room.name}.`);
    if (runner.status === 'left') throw new CleanroomError('NOT_ALLOWED', `${runner.alias}, the snapshot's runner, has left ${room.name}; nobody can run it.`);
    const runnerBoxKey = fromBase64Url(runner.boxPublicKey);
    const released: Approval['keys'] = [];
    for (const reference of snapshot.assets) {
      if (reference.owner !== me.signPublicKey) continue;
      const sealed = this.assets.sealedKeyOf(reference.asset);
      if (sealed === null) {
        throw new CleanroomError('NOT_FOUND', `This home has no data key for your ${reference.kind} ${reference.name}; it cannot be released.`);
      }
      const dataKey = openOwnDataKey(sealed, { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey });
      try {
        released.push({ asset: reference.asset, sealedKey: sealDataKey(dataKey, snapshotId, reference.asset, runnerBoxKey) });
      } finally {
        wipe(dataKey);
      }
    }
    const now = this.clock();
    return {
      format: 'cleanroom-approval/1',
      snapshot: snapshotId,
      runner: snapshot.runner,
      expiresAt: new Date(now.getTime() + (options.expiresDays ?? defaultApprovalDays) * dayMs).toISOString(),
      maxRuns: options.runs ?? defaultApprovalRuns,
      keys: released,
    };
  }

  /** Signs and stores my approval.granted (inside the caller's transaction, if any). */
  appendGrant(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys, snapshot: Snapshot, snapshotId: string, options: GrantOptions): void {
    const approval = this.approvalFor(room, me, keys, snapshot, snapshotId, options);
    this.rooms.appendMine(room, me, keys, { type: 'approval.granted', approval });
  }

  /** Approves a snapshot of this room (by id or prefix) for its runner. Returns the snapshot's id. */
  grant(room: StoredRoom, snapshotId: string, me: IdentityPublic, keys: UnlockedKeys, options: GrantOptions): void {
    const state = this.rooms.requireActiveMember(room, me);
    const found = [...state.snapshots].find((candidate) => candidate.id === snapshotId);
    if (found === undefined) throw new CleanroomError('NOT_FOUND', `No snapshot ${shortId(snapshotId)} in ${room.name}.`);
    this.appendGrant(room, me, keys, found.snapshot, found.id, options);
  }

  /** Revokes my latest approval of a snapshot. */
  revoke(room: StoredRoom, snapshotId: string, me: IdentityPublic, keys: UnlockedKeys): void {
    this.rooms.requireJoined(room, me);
    const state = this.rooms.state(room);
    const found = [...state.snapshots].find((candidate) => candidate.id === snapshotId);
    if (found === undefined) throw new CleanroomError('NOT_FOUND', `No snapshot ${shortId(snapshotId)} in ${room.name}.`);
    const mine = found.approvals.get(me.signPublicKey);
    if (mine === undefined) throw new CleanroomError('NOT_FOUND', `You have not approved snapshot ${shortId(snapshotId)}; there is nothing to revoke.`);
    if (mine.revokedAt !== null) throw new CleanroomError('NOT_ALLOWED', `You already revoked your approval of snapshot ${shortId(snapshotId)}.`);
    this.rooms.appendMine(room, me, keys, { type: 'approval.revoked', approval: mine.id });
  }
}
