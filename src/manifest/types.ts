// Placeholder to be replaced by the manifest helper: the shape the supervisor consumes.
export type ServiceType = 'long-run' | 'oneshot-pre' | 'oneshot-post';
