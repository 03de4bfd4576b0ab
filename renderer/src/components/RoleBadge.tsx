// A column's role as a small coloured label, and the legend that explains all five.
import { type ColumnRole } from '../../../shared/asset.js';
import { columnRoleInfo, roleOrder } from '../assets.js';

export function RoleBadge({ role, testId }: { role: ColumnRole; testId?: string }) {
  return (
    <span className={`role role-${role.replace('_', '-')}`} title={columnRoleInfo[role].explanation} data-testid={testId} data-role={role}>
      {columnRoleInfo[role].label}
    </span>
  );
}

export function RoleLegend({ testId }: { testId?: string }) {
  return (
    <dl className="role-legend" data-testid={testId}>
      {roleOrder.map((role) => (
        <div key={role} className="role-legend-item">
          <dt>
            <RoleBadge role={role} />
          </dt>
          <dd>{columnRoleInfo[role].explanation}</dd>
        </div>
      ))}
    </dl>
  );
}
