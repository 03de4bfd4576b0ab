// The heading of a section. It takes focus when the section opens, so keyboard and screen-reader
// users land on the new content instead of staying in the sidebar.
import { type ReactNode, useEffect, useRef } from 'react';

export function PageHeader({ title, description, actions }: { title: string; description: ReactNode; actions?: ReactNode }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    headingRef.current?.focus({ preventScroll: true });
  }, []);
  return (
    <header className="page-header">
      <div>
        <h1 className="page-title" tabIndex={-1} ref={headingRef}>
          {title}
        </h1>
        <p className="page-description">{description}</p>
      </div>
      {actions !== undefined && <div className="page-actions">{actions}</div>}
    </header>
  );
}
