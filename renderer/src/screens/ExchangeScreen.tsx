// Exchange: the signed files (packets) that carry a room between machines.
import { EmptyState } from '../components/EmptyState.js';
import { PageHeader } from '../components/PageHeader.js';

export function ExchangeScreen() {
  return (
    <div className="page" data-testid="exchange-screen">
      <PageHeader
        title="Exchange"
        description="Cleanroom needs no network between parties: rooms travel as signed packet files, by USB stick or a shared folder."
      />
      <EmptyState icon="exchange" title="No packets yet" testId="exchange-empty">
        <p>
          Packets you import and export will appear here: invitations, identity cards, tables, notebooks, approvals and
          released results, each a <code>.cleanroom</code> file signed by its sender.
        </p>
        <p>
          Every packet is checked before anything in it is used: size, signature, then content hashes. A packet that fails
          changes nothing, and this page will say exactly why it was refused.
        </p>
      </EmptyState>
    </div>
  );
}
