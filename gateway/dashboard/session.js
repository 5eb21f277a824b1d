// Who the user is (the client certificate the browser presents) and the orgs seen so far, which
// the participants editor offers.

import { api } from "./api.js";
import { fill, h, view } from "./dom.js";
import { refusal } from "./outcome.js";

export const session = { me: null, knownMsps: new Set() };

export async function loadMe() {
  const el = document.getElementById("me");
  try {
    const me = (await api("GET", "/v1/whoami")).body;
    session.me = me;
    session.knownMsps.add(me.msp_id);
    el.replaceChildren(
      h("span", { title: me.identity.subject }, `${me.user}`),
      " · ",
      h("span.badge", {}, me.msp_id),
      " · role ",
      h("span.badge", { id: "my-role" }, me.identity.role),
    );
    el.dataset.msp = me.msp_id;
  } catch (err) {
    el.textContent = "not signed in";
    fill(view,
      h("h1", {}, "No identity"),
      h("p", {}, "This gateway identifies you by the client certificate your browser presents. Import your user's PKCS#12 (see the README: network.sh p12) and open the page again."),
      refusal(err, "Who am I"),
    );
    throw err;
  }
}
