// A seeded simulation of members working offline, for the convergence tests (issue 15).
//
// Each member has a home (the entries it stores) and a clock up to an hour off. In turn, a random
// member does what the app would let them do from what their home shows: add a table (names come
// from a small pool, so members offline add clashing names), add a snapshot over a table they see,
// approve another member's snapshot, revoke one of their approvals, propose adding a newcomer (two
// newcomers, so members amending at once may add the same person), sign a pending amendment, or
// leave (at most one member per run, so the room stays open). A newcomer's home receives the
// room's packets like any other; once an amendment adding them is accepted there, they join and
// work like everyone else. Their home checks the entry as core's appendChecked does:
// refused or settled entries are not signed. Now and then a member exports a packet (every entry
// their home holds) to the others; packets are delivered in random order, some twice, some late,
// some dropped. At the end everyone re-sends until nothing changes.
//
// `simulate(seed, members)` returns the homes, what happened, and a one-line report.
import { type AssetDescriptor } from '../../shared/asset.js';
import { deriveRoomState, mergeEntries, type RoomState } from '../../shared/room-state.js';
import { type EntryBody, type SignedEntry } from '../../shared/room.js';
import { seededRandom } from '../../shared/seeded-random.js';
import { makeApproval, makeIdentity, makeRoom, makeSnapshot, makeTable, minutesAfter, randomDataKey, type RoomFixture, type TestIdentity } from './room-fixtures.js';

export const simulationNow = minutesAfter(3 * 24 * 60);
const aliases = ['St Mary', 'Acme', 'Northside', 'Lab One', 'Harbor'];
const newcomerAliases = ['Newcomer A', 'Newcomer B'];
const namePool = ['shared', 'visits', 'claims'];

export interface Home {
  readonly alias: string;
  readonly member: TestIdentity;
  /** Minutes this member's clock is off. */
  readonly skew: number;
  stored: SignedEntry[];
}

export interface Simulation {
  readonly room: RoomFixture;
  readonly homes: Home[];
  /** One line per operation, e.g. "Acme: add table shared". */
  readonly operations: string[];
  readonly problems: string[];
  report(): string;
  /** Signs `body` as `home`'s next entry if their home accepts it unsettled; returns the entry or null. */
  append(home: Home, body: EntryBody, minute: number): SignedEntry | null;
  /** Delivers a packet (the entries `from` holds) to `to`; records any refusal as a problem. */
  deliver(from: readonly SignedEntry[], to: Home): void;
  /** Everyone sends everyone their whole home until nothing changes. */
  resendAll(): void;
  stateOf(home: Home): RoomState;
}

export function simulate(seed: number, memberCount: number, steps = 20): Simulation {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const room = makeRoom(aliases.slice(0, memberCount));
  // Everyone has the invitation and every join before working offline.
  for (const [index, alias] of aliases.slice(1, memberCount).entries()) room.join(alias, minutesAfter(index + 1));
  const setup = room.allEntries();
  const homes: Home[] = aliases.slice(0, memberCount).map((alias) => ({ alias, member: room.member(alias), skew: Math.round(random() * 120) - 60, stored: [...setup] }));
  const newcomers = newcomerAliases.map((alias) => makeIdentity(alias));
  for (const newcomer of newcomers) {
    room.addFeed(newcomer);
    homes.push({ alias: newcomer.alias, member: newcomer, skew: Math.round(random() * 120) - 60, stored: [...setup] });
  }
  const operations: string[] = [];
  const problems: string[] = [];
  const counts = { deliveries: 0, dropped: 0, duplicated: 0 };
  let left = false;

  const stateOf = (home: Home): RoomState => deriveRoomState(room.roomId, home.stored, simulationNow);

  const append = (home: Home, body: EntryBody, minute: number): SignedEntry | null => {
    const feed = room.feed(home.alias);
    const last = feed.entries[feed.entries.length - 1];
    // As core does: a clock behind the feed's last entry stamps that entry's time instead.
    const clock = minutesAfter(minute + home.skew);
    const at = last !== undefined && new Date(last.entry.at) > clock ? new Date(last.entry.at) : clock;
    const entry = feed.append(body, at);
    const merge = mergeEntries(room.roomId, home.stored, [entry], simulationNow);
    if (merge.refused.length > 0) problems.push(`${home.alias} could not append ${body.type}: ${merge.refused[0]?.reason}`);
    if (merge.refused.length > 0 || merge.settled.some((item) => item.settlement.kind !== 'noted')) {
      feed.entries.pop();
      return null;
    }
    home.stored.push(...merge.accepted);
    return entry;
  };

  const deliver = (from: readonly SignedEntry[], to: Home): void => {
    counts.deliveries++;
    const merge = mergeEntries(room.roomId, to.stored, from, simulationNow);
    for (const refusal of merge.refused) problems.push(`${to.alias} refused a packet: ${refusal.reason}`);
    if (merge.equivocations.length > 0) problems.push(`${to.alias} saw equivocation`);
    to.stored.push(...merge.accepted);
  };

  const resendAll = (): void => {
    for (let round = 0; round <= homes.length; round++) {
      const before = homes.map((home) => home.stored.length).join();
      for (const from of homes) {
        for (const to of homes) {
          // A packet with nothing new is only ignored (the random phase delivers those too): skip it to save time.
          const held = new Set(to.stored.map((entry) => entry.signature));
          if (to !== from && !from.stored.every((entry) => held.has(entry.signature))) deliver([...from.stored], to);
        }
      }
      if (homes.map((home) => home.stored.length).join() === before) return;
    }
  };

  const operate = (home: Home, step: number): void => {
    const state = stateOf(home);
    const me = home.member.ref.signPublicKey;
    const minute = 60 + step * 10;
    const mine = state.members.find((member) => member.signPublicKey === me);
    if (mine?.status !== 'joined') return;
    const choice = random();
    const pending = state.amendments.filter((amendment) => amendment.status === 'pending' && amendment.waitingFor.includes(me));
    // Signing is likelier than anything else, so amendments proposed get accepted within a run.
    if (pending.length > 0 && random() < 0.85) {
      const amendment = pick(pending);
      if (append(home, { type: 'amendment.signed', amendment: amendment.id }, minute) !== null) {
        operations.push(`${home.alias}: sign the amendment adding ${amendment.addMembers.map((ref) => ref.alias).join(', ')}`);
      }
      return;
    }
    const outsiders = newcomers.filter((newcomer) => !state.members.some((member) => member.signPublicKey === newcomer.ref.signPublicKey));
    if (choice < 0.07 && outsiders.length > 0) {
      const newcomer = pick(outsiders);
      if (append(home, { type: 'amendment.proposed', addMembers: [newcomer.ref] }, minute) !== null) operations.push(`${home.alias}: propose adding ${newcomer.alias}`);
      return;
    }
    const addTable = (): void => {
      const taken = new Set(state.assets.map((asset) => asset.name));
      const name = pick(namePool.filter((candidate) => !taken.has(candidate)).concat(`t${seed}_${step}`));
      const descriptor = makeTable(room.roomId, home.member, name);
      if (append(home, { type: 'asset.added', descriptor }, minute) !== null) operations.push(`${home.alias}: add table ${name}`);
    };
    if (choice < 0.25) {
      addTable();
      return;
    }
    if (choice < 0.45 && state.assets.length > 0) {
      const asset = pick(state.assets);
      const current = homes.filter((other) => state.members.find((member) => member.signPublicKey === other.member.ref.signPublicKey)?.status === 'joined');
      const runner = pick(current).member;
      const base = makeSnapshot(room.roomId, home.member, { name: `Notebook ${step}`, assets: [asset.descriptor], runner, createdAt: minutesAfter(minute) });
      const snapshot = { ...base, assets: base.assets.map((ref) => ({ ...ref, name: asset.name })) };
      if (append(home, { type: 'snapshot.added', snapshot }, minute) !== null) operations.push(`${home.alias}: add snapshot over ${asset.name}, run by ${runner.alias}`);
      return;
    }
    const others = state.snapshots.filter((snapshot) => snapshot.author !== me);
    if (choice < 0.75 && others.length > 0) {
      const found = pick(others);
      const runner = homes.find((other) => other.member.ref.signPublicKey === found.snapshot.runner)?.member as TestIdentity;
      const mine = state.assets.filter((asset) => asset.owner === me && found.snapshot.assets.some((ref) => ref.asset === asset.id));
      const approval = makeApproval(found.snapshot, {
        runner,
        expiresAt: minutesAfter(minute + 7 * 24 * 60),
        keys: mine.map((asset): { descriptor: AssetDescriptor; dataKey: Uint8Array } => ({ descriptor: asset.descriptor, dataKey: randomDataKey() })),
      });
      if (append(home, { type: 'approval.granted', approval }, minute) !== null) operations.push(`${home.alias}: approve “${found.snapshot.name}”`);
      return;
    }
    const revocable = state.snapshots.flatMap((snapshot) => snapshot.grants).filter((grant) => grant.approver === me && grant.revokedAt === null);
    if (choice < 0.9 && revocable.length > 0) {
      const grant = pick(revocable);
      if (append(home, { type: 'approval.revoked', approval: grant.id }, minute) !== null) operations.push(`${home.alias}: revoke an approval`);
      return;
    }
    if (choice >= 0.9 && choice < 0.94 && !left) {
      if (append(home, { type: 'room.left' }, minute) !== null) {
        left = true;
        operations.push(`${home.alias}: leave`);
      }
      return;
    }
    addTable();
  };

  const inFlight: { from: SignedEntry[]; to: Home }[] = [];
  const joinedNewcomers = new Set<string>();
  /** A newcomer joins as soon as their home shows an accepted amendment adding them. */
  const newcomersJoin = (step: number): void => {
    for (const home of homes) {
      if (!newcomerAliases.includes(home.alias) || joinedNewcomers.has(home.alias)) continue;
      const mine = stateOf(home).members.find((member) => member.signPublicKey === home.member.ref.signPublicKey);
      if (mine?.status !== 'invited' || mine.addedBy === null) continue;
      if (append(home, { type: 'room.joined', amendment: mine.addedBy }, 60 + step * 10) === null) continue;
      joinedNewcomers.add(home.alias);
      operations.push(`${home.alias}: join`);
    }
  };
  for (let step = 0; step < steps; step++) {
    const home = pick(homes.filter((candidate) => !newcomerAliases.includes(candidate.alias) || joinedNewcomers.has(candidate.alias)));
    operate(home, step);
    if (random() < 0.5) for (const to of homes) if (to !== home) inFlight.push({ from: [...home.stored], to });
    // Deliver some packets: random order, some twice, some dropped (re-sent at the end).
    const deliveries = Math.floor(random() * 4);
    for (let index = 0; index < deliveries && inFlight.length > 0; index++) {
      const [packet] = inFlight.splice(Math.floor(random() * inFlight.length), 1);
      if (packet === undefined) break;
      const fate = random();
      if (fate < 0.15) {
        counts.dropped++;
        continue;
      }
      deliver(packet.from, packet.to);
      if (fate < 0.3) {
        counts.duplicated++;
        inFlight.push(packet);
      }
    }
    newcomersJoin(step);
  }
  // Late packets arrive, then everyone re-sends what was dropped.
  while (inFlight.length > 0) {
    const [packet] = inFlight.splice(Math.floor(random() * inFlight.length), 1);
    if (packet !== undefined) deliver(packet.from, packet.to);
  }
  resendAll();

  const report = (): string => {
    const state = stateOf(homes[0] as Home);
    const conflicts = state.log.filter((item) => item.settlement !== null).map((item) => `${item.settlement?.kind}: ${item.settlement?.text}`);
    return [
      `seed ${seed}: ${memberCount} members (clocks ${homes.map((home) => `${home.skew >= 0 ? '+' : ''}${home.skew}m`).join(' ')}), ${operations.length} operations, ` +
        `${counts.deliveries} deliveries (${counts.dropped} dropped, ${counts.duplicated} duplicated), ${conflicts.length} conflicts settled`,
      ...operations.map((line) => `  op  ${line}`),
      ...conflicts.map((line) => `  settled  ${line}`),
    ].join('\n');
  };

  return { room, homes, operations, problems, report, append, deliver, resendAll, stateOf };
}
