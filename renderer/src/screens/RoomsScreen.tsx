// Rooms: where joint analyses live. Nothing can be created here yet, so the page only explains.
import { EmptyState } from '../components/EmptyState.js';
import { PageHeader } from '../components/PageHeader.js';

export function RoomsScreen() {
  return (
    <div className="page" data-testid="rooms-screen">
      <PageHeader title="Rooms" description="Shared workspaces where every member adds data and code, and nothing runs without everyone's approval." />
      <EmptyState icon="rooms" title="No rooms yet" testId="rooms-empty">
        <p>
          Rooms you create or join will appear here, with their members, the tables and notebooks each of them added, the
          approvals waiting for you and the history of every run.
        </p>
        <p>
          In a room, the others see your tables&rsquo; column names and types, never their rows. A notebook runs only after
          every member has approved its exact code, and only aggregate results come out.
        </p>
      </EmptyState>
    </div>
  );
}
