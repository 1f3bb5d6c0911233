/**
 * Turning key protection on, and unlocking protected keys at start (issue 19.6). The record in
 * the daemon's settings says how the keys are protected (KDF parameters, the per-install salt,
 * where the secret lives) and holds a check value, so a wrong passphrase fails at start, before
 * anything runs, rather than at the first envelope.
 * @module
 */
import { encodeBase64Url, randomBytes } from "../../protocol/mod.ts";
import { DaemonStore } from "../store/mod.ts";
import { KEY_PROTECTION_SETTING, useKeyWrapper } from "../store/agents.ts";
import { type KeySource, KeySourceError } from "./key_source.ts";
import { osKeychain } from "./keychain.ts";
import { PassphraseFileSource } from "./passphrase_file.ts";
import { PromptSource } from "./prompt.ts";
import { type KdfParams, KeyWrapper, newKdfParams, UnwrapError } from "./wrap.ts";

/** How this install's keys are protected (JSON in the settings table). */
export interface ProtectionRecord extends KdfParams {
  v: 1;
  kdf: "scrypt";
  /** `passphrase`: typed or from a file; `keychain`: a generated secret in the OS keychain. */
  source: "passphrase" | "keychain";
  /** The keychain entry's account name. */
  account: string;
  /** A known text wrapped with the secret: opening it proves the secret right. */
  check: string;
}

/** What `taskferry client` asks for. */
export interface UnlockOptions {
  dbPath: string;
  home: string;
  /** `--protect-keys`: turn protection on (idempotent). */
  protect: boolean;
  /** Where a new protection's secret comes from. */
  keySource: "passphrase" | "keychain";
  /** `TASKFERRY_PASSPHRASE_FILE`. */
  passphraseFile?: string | undefined;
  /** The OS keychain for an account (tests substitute one); default {@link osKeychain}. */
  keychain?: (account: string) => KeySource | null;
}

/** What unlocking found and did. */
export interface Unlocked {
  wrapper: KeyWrapper;
  /** Protection was turned on now. */
  enabled: boolean;
  /** Keys found in clear and wrapped now. */
  wrapped: number;
  source: string;
}

/** A refusal to start; the message says what is wrong and how to fix it. */
export class KeyProtectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyProtectionError";
  }
}

const CHECK = "taskferry key check";

/**
 * Unlocks (and with `protect`, first protects) the agent keys in `opts.dbPath`. Undefined when
 * they are not protected and protection was not asked for. Wrapping leaves no clear copy: the
 * rewrite runs with `secure_delete` and the WAL is truncated after it.
 */
export async function unlockKeys(opts: UnlockOptions): Promise<Unlocked | undefined> {
  const store = DaemonStore.open(opts.dbPath);
  try {
    const raw = store.settings.get(KEY_PROTECTION_SETTING);
    if (raw === null && !opts.protect) return undefined;
    const keychain = opts.keychain ?? ((account) => osKeychain(account, opts.home));
    const { record, wrapper, source } = raw === null
      ? await enable(opts, keychain)
      : await unlock(parseRecord(raw, opts.dbPath), opts, keychain);
    useKeyWrapper(store.db, wrapper);
    store.db.exec("PRAGMA secure_delete = ON");
    const wrapped = store.transaction(() => {
      if (raw === null) store.settings.set(KEY_PROTECTION_SETTING, JSON.stringify(record));
      return store.agents.wrapAll();
    });
    // Enabling: VACUUM rebuilds the file, so no free page keeps an old clear copy either.
    if (raw === null) store.db.exec("VACUUM");
    if (raw === null || wrapped > 0) store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return { wrapper, enabled: raw === null, wrapped, source: source.label };
  } catch (err) {
    if (err instanceof KeySourceError) throw new KeyProtectionError(err.message);
    throw err;
  } finally {
    store.close();
  }
}

async function enable(opts: UnlockOptions, keychain: (account: string) => KeySource | null) {
  const params = newKdfParams();
  const account = `keys-${params.salt.slice(0, 12)}`;
  let source: KeySource;
  let secret: string | null;
  if (opts.keySource === "keychain") {
    const kc = keychain(account);
    if (!kc) throw new KeyProtectionError(`no OS keychain on ${Deno.build.os}; use a passphrase`);
    source = kc;
    secret = encodeBase64Url(randomBytes(32));
    await kc.set(secret);
    if ((await kc.get()) !== secret) {
      throw new KeyProtectionError(`${kc.label} did not keep the secret; nothing changed`);
    }
  } else {
    source = passphraseSource(opts, "Choose a passphrase for the agent keys: ", true);
    secret = await source.get();
    if (secret === null) {
      throw new KeyProtectionError(
        "--protect-keys needs a passphrase: set TASKFERRY_PASSPHRASE_FILE (or " +
          "--passphrase-file), start on a terminal to be asked, or use --key-source keychain",
      );
    }
  }
  const wrapper = new KeyWrapper(secret, params);
  const record: ProtectionRecord = {
    v: 1,
    kdf: "scrypt",
    ...params,
    source: opts.keySource,
    account,
    check: wrapper.wrap(CHECK, CHECK),
  };
  return { record, wrapper, source };
}

async function unlock(
  record: ProtectionRecord,
  opts: UnlockOptions,
  keychain: (account: string) => KeySource | null,
) {
  const source = record.source === "keychain"
    ? keychain(record.account)
    : passphraseSource(opts, `Passphrase for the agent keys in ${opts.dbPath}: `, false);
  if (!source) {
    throw new KeyProtectionError(`no OS keychain on ${Deno.build.os} for ${opts.dbPath}`);
  }
  const secret = await source.get();
  if (secret === null) {
    throw new KeyProtectionError(
      record.source === "keychain"
        ? `the agent keys in ${opts.dbPath} are protected by a secret in ${source.label}, ` +
          `which has no entry '${record.account}'`
        : `the agent keys in ${opts.dbPath} are protected: set TASKFERRY_PASSPHRASE_FILE ` +
          "(or --passphrase-file), or start on a terminal to be asked",
    );
  }
  const { N, r, p, salt } = record;
  const wrapper = new KeyWrapper(secret, { N, r, p, salt });
  try {
    wrapper.unwrap(record.check, CHECK);
  } catch (err) {
    if (!(err instanceof UnwrapError)) throw err;
    throw new KeyProtectionError(`wrong passphrase for ${opts.dbPath} (from ${source.label})`);
  }
  return { record, wrapper, source };
}

function parseRecord(raw: string, dbPath: string): ProtectionRecord {
  try {
    const record = JSON.parse(raw) as ProtectionRecord;
    if (record.v === 1 && record.kdf === "scrypt" && typeof record.check === "string") {
      return record;
    }
  } catch {
    // reported below
  }
  throw new KeyProtectionError(
    `unknown key protection record in ${dbPath} (damaged, or from a newer TaskFerry)`,
  );
}

function passphraseSource(opts: UnlockOptions, question: string, confirm: boolean): KeySource {
  return opts.passphraseFile
    ? new PassphraseFileSource(opts.passphraseFile)
    : new PromptSource(question, confirm);
}
