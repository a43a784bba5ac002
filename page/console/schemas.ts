// The API's answers the console reads (PROTOCOL.md §4), checked on arrival so a surprise shows as words, not as a broken page.
import * as z from 'zod/mini';
import type { KeyDefaultsView, KeyView, MeView } from '../../shared/protocol/accounts.js';
import type { UserView } from '../../shared/db/users.js';

const Role = z.enum(['admin', 'analyst']);
const Time = z.nullable(z.number());

export const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const MeSchema: z.ZodMiniType<MeView> = z.object({ login: z.string(), role: Role, keys: z.array(z.string()) });

export const LoginAnswerSchema = z.object({ login: z.string(), role: Role });

export const ProvidersSchema = z.array(z.object({ id: z.string(), name: z.string() }));

/** `POST /api/auth/oidc/link`: the provider's page to go to. */
export const LinkStartSchema = z.object({ url: z.string() });

export const KeySchema: z.ZodMiniType<KeyView> = z.object({
  key_id: z.string(),
  label: z.string(),
  key: z.string(),
  share_link: z.string(),
  status: z.enum(['active', 'expired', 'revoked']),
  created_at: z.number(),
  created_by: z.nullable(z.string()),
  expires_at: Time,
  revoked_at: Time,
  max_measuring_ms: Time,
  max_concurrent_sessions: Time,
  survey_count: z.number(),
  session_count: z.number(),
  last_used_at: Time,
});
export const KeyListSchema = z.array(KeySchema);

export const KeyDefaultsSchema: z.ZodMiniType<KeyDefaultsView> = z.object({ max_concurrent_sessions: Time });

export const UserSchema: z.ZodMiniType<UserView> = z.object({
  login: z.string(),
  role: Role,
  email: z.nullable(z.string()),
  disabled: z.boolean(),
  has_password: z.boolean(),
  created_at: z.number(),
  last_login_at: Time,
  keys: z.array(z.string()),
});
export const UserListSchema = z.array(UserSchema);

export const LogoutEverywhereSchema = z.object({ ended_sessions: z.number() });

export type { KeyView, MeView, UserView };
