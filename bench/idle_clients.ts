/**
 * Child process of the relay suite's memory case (started by bench/idle_relay.ts). Reads lines
 * on stdin: `{ url, clients: [{ clientId, token, deviceId }] }` opens one authenticated
 * WebSocket per client (hello → welcome) and answers `ready N` on stdout; `close` closes every
 * open socket; end of input closes them and exits. Keeping the client ends in their own process
 * keeps them out of the relay process's RSS.
 * @module
 */

interface Spec {
  clientId: string;
  token: string;
  deviceId: string;
}

function open(url: string, spec: Spec): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, "ws") + "/v1/ws");
  return new Promise((resolve, reject) => {
    ws.onerror = () => reject(new Error(`websocket error for ${spec.clientId}`));
    ws.onopen = () => {
      ws.onmessage = (e) => {
        if (String(e.data).includes('"welcome"')) resolve(ws);
        else reject(new Error(`hello refused: ${e.data}`));
      };
      ws.send(JSON.stringify({
        type: "hello",
        client_id: spec.clientId,
        token: spec.token,
        device_id: spec.deviceId,
      }));
    };
  });
}

async function closeAll(sockets: WebSocket[]) {
  await Promise.all(
    sockets.splice(0).map((ws) =>
      new Promise((resolve) => {
        ws.onclose = resolve;
        ws.close();
        setTimeout(resolve, 1000);
      })
    ),
  );
}

if (import.meta.main) {
  const sockets: WebSocket[] = [];
  // A bound, whatever happens to the parent.
  const bound = setTimeout(() => Deno.exit(3), 120_000);
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of Deno.stdin.readable) {
    text += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, nl).trim();
      text = text.slice(nl + 1);
      if (line === "close") {
        await closeAll(sockets);
      } else if (line) {
        const { url, clients } = JSON.parse(line) as { url: string; clients: Spec[] };
        for (let i = 0; i < clients.length; i += 100) {
          sockets.push(...await Promise.all(clients.slice(i, i + 100).map((c) => open(url, c))));
        }
        console.log(`ready ${sockets.length}`);
      }
    }
  }
  await closeAll(sockets);
  clearTimeout(bound);
}
