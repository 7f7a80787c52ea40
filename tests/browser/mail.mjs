// The messages the server writes into MAIL_DIR (no SMTP relay in the browser tests).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// The text of the newest message to `address` (quoted-printable soft breaks and `=3D`
// undone), waiting up to 15 s for the outbox worker to write it.
export async function mailTo(address) {
  const dir = process.env.MAIL_DIR;
  for (let i = 0; i < 150; i++) {
    const texts = readdirSync(dir)
      .filter((name) => name.endsWith(".eml"))
      .map((name) => readFileSync(join(dir, name), "utf8").replaceAll("=\r\n", "").replaceAll("=3D", "="))
      .filter((text) => text.includes(`To: ${address}`));
    if (texts.length > 0) return texts[texts.length - 1];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no message to ${address} in ${dir}`);
}
