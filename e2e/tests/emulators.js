// Local stand-ins for messengers' servers, following their documented contracts.
import http from "node:http";

/**
 * The Telegram Bot API (`/bot{token}/{method}`, the `{ok, result}` envelope): long-polled
 * `getUpdates` from a queue, `sendMessage` recorded. Resolves once listening.
 */
export async function startBotApi(token) {
  const queued = [];
  const sent = [];
  let nextUpdate = 1;
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      const [, bot, method] = request.url.split("/");
      const params = body ? JSON.parse(body) : {};
      const answer = (result) => { response.setHeader("content-type", "application/json"); response.end(JSON.stringify({ ok: true, result })); };
      if (bot !== `bot${token}`) { response.statusCode = 401; return response.end(JSON.stringify({ ok: false, error_code: 401, description: "Unauthorized" })); }
      if (method === "getUpdates") {
        while (queued.length && queued[0].update_id < (params.offset ?? 0)) queued.shift();
        // Short waits keep tests quick; Opora asks for 25 s and takes what comes.
        return setTimeout(() => answer(queued.slice()), queued.length ? 0 : 300);
      }
      if (method === "sendMessage") { sent.push(params); return answer({ message_id: 900 + sent.length, date: 1, chat: { id: Number(params.chat_id) } }); }
      if (method === "getMe") return answer({ id: Number(token.split(":")[0]), is_bot: true, first_name: "Opora", username: "opora_e2e_bot" });
      return answer(true);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    sent,
    base: `http://127.0.0.1:${server.address().port}`,
    /** A private-chat text message from a customer. */
    write(chat, name, text, messageId) {
      const [first, last] = name.split(" ");
      queued.push({ update_id: nextUpdate++, message: { message_id: messageId, date: 1, from: { id: chat, is_bot: false, first_name: first, last_name: last },
        chat: { id: chat, type: "private" }, text } });
    },
  };
}
