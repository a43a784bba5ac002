// Bodies and answers of the account, key and user routes (PROTOCOL.md §4).
import * as z from 'zod';
import { PASSWORD_MAX, PASSWORD_MIN } from '../auth/password.js';

/** A login: a name or an e-mail address (OpenID users), case-insensitive. */
export const LoginSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/, 'must be 1–128 letters, digits or . _ @ + - and start with a letter or digit');

export const PasswordSchema = z.string().min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`).max(PASSWORD_MAX);
export const RoleSchema = z.enum(['admin', 'analyst']);
export const KeyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be a key_id (16 hex digits)');

/** `POST /api/auth/login`. The password is not length-checked here: a wrong one is just login_failed. */
export const LoginRequestSchema = z.object({
  login: z.string().min(1).max(128),
  password: z.string().min(1).max(PASSWORD_MAX),
});

/** `POST /api/auth/password`: a user changes their own password; their other sessions end. */
export const PasswordChangeSchema = z.object({
  current_password: z.string().min(1).max(PASSWORD_MAX),
  new_password: PasswordSchema,
});

/** `POST /api/keys`. */
export const KeyCreateSchema = z.object({
  label: z.string().trim().min(1).max(120),
  ttl_s: z.number().int().min(60).max(10 * 365 * 86_400).optional(),
  max_measuring_ms: z.number().int().min(1000).max(365 * 86_400_000).optional(),
  max_concurrent_sessions: z.number().int().min(1).max(10_000).optional(),
});

/** `POST /api/users`. No password: an OpenID-only user (log in as the login or e-mail the identity provider gives). */
export const UserCreateSchema = z.object({
  login: LoginSchema,
  password: PasswordSchema.optional(),
  role: RoleSchema,
  email: z.email().max(254).optional(),
  keys: z.array(KeyIdSchema).max(1000).optional(),
});

/** `PATCH /api/users/{login}`: any of the fields; `keys` replaces the grants. */
export const UserPatchSchema = z
  .object({
    password: PasswordSchema.optional(),
    role: RoleSchema.optional(),
    email: z.email().max(254).nullable().optional(),
    keys: z.array(KeyIdSchema).max(1000).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'give at least one of password, role, email, keys, disabled');

export type KeyStatus = 'active' | 'expired' | 'revoked';

/** A key as `GET /api/keys` lists it: the key itself and its share link only go to those who may hand it out. */
export interface KeyView {
  key_id: string;
  label: string;
  key: string;
  share_link: string;
  status: KeyStatus;
  created_at: number;
  created_by: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  max_measuring_ms: number | null;
  max_concurrent_sessions: number | null;
  survey_count: number;
  /** PROTOCOL.md §4's "session count": the same number as survey_count. */
  session_count: number;
  last_used_at: number | null;
}

/** `GET /api/keys/defaults`: the limits a key created without them gets (null: none). */
export interface KeyDefaultsView {
  max_concurrent_sessions: number | null;
}

/** `GET /api/auth/me`. */
export interface MeView {
  login: string;
  role: 'admin' | 'analyst';
  keys: string[];
}
