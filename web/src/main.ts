// The chat page: the join form (with sign-in when the server asks for
// it), then the room. Wires the DOM to a ChatSession.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "./gen/polychat/auth/v1/auth_pb";
import { DEFAULT_ROOM } from "./chatwire";
import { ChatSession, reason } from "./session";
import { MessageList, StatusBar } from "./view";

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const joinForm = byId<HTMLFormElement>("join-form");
const nameInput = byId<HTMLInputElement>("name");
const roomInput = byId<HTMLInputElement>("room");
const signIn = byId<HTMLElement>("signin");
const password = byId<HTMLInputElement>("password");
const joinError = byId<HTMLElement>("join-error");
const joinButton = byId<HTMLButtonElement>("join");
const chat = byId<HTMLElement>("chat");
const sayForm = byId<HTMLFormElement>("say-form");
const line = byId<HTMLTextAreaElement>("line");
const leaveButton = byId<HTMLButtonElement>("leave");

const baseUrl = window.location.origin;
// Connect with the binary format: the server's messages pass through
// to the page as the gRPC service encoded them.
const transport = createConnectTransport({ baseUrl, useBinaryFormat: true });
const auth = createClient(AuthService, transport);
const messages = new MessageList(byId("messages"));
const bar = new StatusBar(byId("where"), byId("members"), byId("state"));

let session: ChatSession | null = null;
// The sign-in session token, kept in memory only: a reload signs in again.
let token = "";

function showForm(why: string): void {
  chat.hidden = true;
  joinForm.hidden = false;
  joinError.textContent = why;
  joinButton.disabled = false;
  (signIn.hidden ? nameInput : password).focus();
}

function needSignIn(why: string): void {
  token = "";
  signIn.hidden = false;
  password.required = true;
  nameInput.labels?.[0]?.replaceChildren("User name");
  showForm(why);
}

joinForm.addEventListener("submit", (e) => {
  e.preventDefault();
  void join();
});

async function join(): Promise<void> {
  joinError.textContent = "";
  joinButton.disabled = true;
  const name = nameInput.value.trim();
  const room = roomInput.value.trim() || DEFAULT_ROOM;
  if (!signIn.hidden && !token) {
    try {
      const r = await auth.login({ username: name, password: password.value });
      token = r.sessionId;
    } catch (err) {
      const e = ConnectError.from(err);
      password.value = "";
      return showForm(
        e.code === Code.Unauthenticated ? "Sign-in failed: invalid username or password" : "Sign-in failed: " + reason(e),
      );
    } finally {
      password.value = "";
    }
  }
  messages.clear();
  const s = new ChatSession(
    transport,
    {
      show: (l) => messages.show(l),
      state: (st, n, r) => bar.state(st, n, r),
      members: (n) => bar.members(n),
      ended: (why, code) => {
        session = null;
        if (code === Code.Unauthenticated) needSignIn("Your session ended; sign in again");
        else showForm(why);
      },
    },
    { name, room, token },
  );
  try {
    await s.start();
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.Unauthenticated) {
      return needSignIn(token ? "Sign-in failed: " + reason(e) : "This server requires sign-in: enter your password");
    }
    return showForm("Cannot join: " + reason(e));
  }
  session = s;
  joinForm.hidden = true;
  chat.hidden = false;
  line.focus();
}

function sendLine(): void {
  const text = line.value;
  line.value = "";
  session?.input(text);
}

sayForm.addEventListener("submit", (e) => {
  e.preventDefault();
  sendLine();
});

// Enter sends; Shift+Enter starts a new line of the same message.
line.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendLine();
  }
});

leaveButton.addEventListener("click", () => void session?.leave());

window.addEventListener("pagehide", () => session?.leaveOnUnload(baseUrl));

nameInput.focus();
