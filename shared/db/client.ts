/**
 * The slice of @libsql/client's `Client` NetPoke uses. Both halves pass
 * their own client (`@libsql/client` in Node, `@libsql/client/web` in
 * workerd); typing against this keeps shared/ free of either import.
 */
export type { Client as Db, InStatement, ResultSet, Transaction } from '@libsql/client';
