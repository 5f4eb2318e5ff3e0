// Shared by the usage files: a type equality that `never` does not pass (a query typed
// `never` is exactly the failure these files exist to catch).
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export function exactly<A, B>(_proof: Equals<A, B>): void {}
