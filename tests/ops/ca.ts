/** A private CA and a server certificate for localhost/127.0.0.1 signed by it, made by openssl. */
import { join } from "node:path";

/** Whether openssl is on PATH (the TLS tests need it). */
export const HAVE_OPENSSL =
  (await new Deno.Command("sh", { args: ["-c", "command -v openssl"], stdout: "null" }).output())
    .success;

/** Files and PEM text of one CA and its leaf, written under `dir/name-*`. */
export interface TestCa {
  ca: string;
  certFile: string;
  keyFile: string;
}

/** Makes a CA called `name` and a localhost leaf it signed, in `dir`. */
export async function makeCa(dir: string, name: string): Promise<TestCa> {
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const f = (s: string) => `${name}-${s}`;
  await openssl(
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    `/CN=${name} CA`,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
  );
  await openssl(
    "req",
    ...ec,
    "-subj",
    "/CN=localhost",
    "-keyout",
    f("key.pem"),
    "-out",
    f("req.csr"),
  );
  await Deno.writeTextFile(
    join(dir, f("ext.cnf")),
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    f("req.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    f("ext.cnf"),
    "-out",
    f("cert.pem"),
  );
  return {
    ca: await Deno.readTextFile(join(dir, f("ca.pem"))),
    certFile: join(dir, f("cert.pem")),
    keyFile: join(dir, f("key.pem")),
  };
}
