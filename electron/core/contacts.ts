// Contacts: the identity cards this home has imported. A card is how a person's keys reach
// someone who will invite them; its fingerprint is what the two compare by phone.
import type Database from 'better-sqlite3';
import { encodeCard, parseCard } from '../../shared/card.js';
import { CleanroomError } from '../../shared/errors.js';
import { groupForReading, type IdentityPublic } from '../../shared/identity.js';
import { type Contact } from '../../shared/room.js';

interface ContactRow {
  sign_public_key: string;
  box_public_key: string;
  alias: string;
  fingerprint: string;
  sharing_id: string;
  imported_at: string;
}

const contactOf = (row: ContactRow): Contact => ({
  alias: row.alias,
  signPublicKey: row.sign_public_key,
  boxPublicKey: row.box_public_key,
  fingerprint: row.fingerprint,
  sharingId: row.sharing_id,
  importedAt: row.imported_at,
});

const readable = (sharingId: string): string => groupForReading(sharingId).join(' ');

export class Contacts {
  constructor(
    private readonly db: Database.Database,
    private readonly clock: () => Date,
  ) {}

  list(): Contact[] {
    const rows = this.db.prepare('SELECT * FROM contacts ORDER BY alias COLLATE NOCASE, sign_public_key').all() as ContactRow[];
    return rows.map(contactOf);
  }

  bySignKey(signPublicKey: string): Contact | null {
    const row = this.db.prepare('SELECT * FROM contacts WHERE sign_public_key = ?').get(signPublicKey) as ContactRow | undefined;
    return row === undefined ? null : contactOf(row);
  }

  /**
   * Checks a card and stores it. Importing the same card again changes nothing and returns the
   * contact as stored; a card that collides with a different person's alias or keys is refused,
   * because silently replacing it would let a forged card take over a name people trust.
   */
  import(cardText: string, me: IdentityPublic | null): Contact {
    const card = parseCard(cardText);
    if (me !== null && (card.signPublicKey === me.signPublicKey || card.boxPublicKey === me.boxPublicKey)) {
      throw new CleanroomError('NOT_ALLOWED', 'This is your own identity card; import the cards of the people you want to invite.');
    }
    const sameKeys = this.db
      .prepare('SELECT * FROM contacts WHERE sign_public_key = ? OR box_public_key = ?')
      .all(card.signPublicKey, card.boxPublicKey) as ContactRow[];
    for (const row of sameKeys) {
      if (row.sign_public_key === card.signPublicKey && row.box_public_key === card.boxPublicKey) return contactOf(row);
      throw new CleanroomError(
        'NOT_ALLOWED',
        `This card shares a key with your contact "${row.alias}" (sharing identifier ${readable(row.sharing_id)}) but not both keys; it was not imported. Ask them which card is theirs.`,
      );
    }
    const sameAlias = this.db.prepare('SELECT * FROM contacts WHERE alias = ?').get(card.alias) as ContactRow | undefined;
    if (sameAlias !== undefined) {
      throw new CleanroomError(
        'NOT_ALLOWED',
        `You already have a contact named "${sameAlias.alias}" with sharing identifier ${readable(sameAlias.sharing_id)}; this card's is ${readable(card.sharingId)}. It was not imported: compare the identifiers with them by phone.`,
      );
    }
    const importedAt = this.clock().toISOString();
    this.db
      .prepare(
        `INSERT INTO contacts (sign_public_key, box_public_key, alias, fingerprint, sharing_id, card, imported_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(card.signPublicKey, card.boxPublicKey, card.alias, card.fingerprint, card.sharingId, encodeCard(card), importedAt);
    return {
      alias: card.alias,
      signPublicKey: card.signPublicKey,
      boxPublicKey: card.boxPublicKey,
      fingerprint: card.fingerprint,
      sharingId: card.sharingId,
      importedAt,
    };
  }
}
