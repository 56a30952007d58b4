() => {
  // The page's own behaviour, all in the browser: [n] in an answer jumps to source n; tick boxes
  // of the checklist are kept for this browser session; the checklist and the conversation are
  // exported as Markdown files made here (nothing is written on the server).
  const seen = JSON.parse(sessionStorage.getItem("stagecode-sources") || "{}");

  function remember() {  // the full text of every source shown, for the conversation export
    let added = false;
    document.querySelectorAll("#sources .sc-card").forEach((card) => {
      if (seen[card.dataset.id]) return;  // a provision's text does not change: kept once
      const nl = card.querySelector(".sc-nl"), en = card.querySelector(".sc-en");
      const label = card.querySelector(".sc-label");
      seen[card.dataset.id] = {label: label ? label.textContent : "", nl: nl ? nl.textContent : "",
                               en: en ? en.textContent : ""};
      added = true;
    });
    if (added) sessionStorage.setItem("stagecode-sources", JSON.stringify(seen));
  }

  function sourceIds(msg) {  // n → id, from the answer's own source list ("[1] 3B.vd.4 — …")
    const ids = {};
    for (const m of msg.textContent.matchAll(/^\s*\[(\d+)\] (\S+) —/gm)) if (!(m[1] in ids)) ids[m[1]] = m[2];
    return ids;
  }

  function linkRefs() {  // [n] in bot messages becomes a button that goes to source n
    document.querySelectorAll('#chatbot [data-testid="bot"]').forEach((msg) => {
      // the chat re-renders earlier messages as plain text when a new one comes: link them again
      const refs = (msg.textContent.match(/\[\d+\]/g) || []).length;
      if (msg.querySelectorAll(".sc-ref").length === refs) return;
      const ids = sourceIds(msg);
      const walker = document.createTreeWalker(msg, NodeFilter.SHOW_TEXT);
      const nodes = [];
      while (walker.nextNode()) if (/\[\d+\]/.test(walker.currentNode.nodeValue)) nodes.push(walker.currentNode);
      nodes.forEach((node) => {
        if (node.parentElement && node.parentElement.closest(".sc-ref")) return;
        const frag = document.createDocumentFragment();
        const parts = node.nodeValue.split(/(\[\d+\])/);
        parts.forEach((part, i) => {
          const m = part.match(/^\[(\d+)\]$/);
          if (!m) { frag.appendChild(document.createTextNode(part)); return; }
          const b = document.createElement("button");
          b.type = "button"; b.className = "sc-ref"; b.dataset.n = m[1]; b.textContent = part;
          if (ids[m[1]]) {
            b.dataset.id = ids[m[1]];
            // the answer's own entry for source n (its id and quote follow)
            if ((parts[i + 1] || "").startsWith(" " + ids[m[1]] + " —")) b.dataset.entry = "1";
          }
          b.setAttribute("aria-label", "source " + m[1]);
          frag.appendChild(b);
        });
        node.parentNode.replaceChild(frag, node);
      });
    });
  }

  function goToSource(ref) {
    // the panel shows the latest answer's sources: an earlier answer's [n] finds its provision
    // there by id; one the panel does not show is found in that answer's own source list
    const cards = [...document.querySelectorAll("#sources .sc-card")];
    const card = ref.dataset.id ? cards.find((c) => c.dataset.id === ref.dataset.id)
      : cards.find((c) => c.dataset.n === ref.dataset.n);
    if (card) {
      card.scrollIntoView({behavior: "smooth", block: "start"});
      answers = answerCount();
      marked = {n: card.dataset.n, id: card.dataset.id};
      markSource();
      card.setAttribute("tabindex", "-1");
      card.focus({preventScroll: true});
      return;
    }
    const msg = ref.closest('[data-testid="bot"]');
    const entry = msg && [...msg.querySelectorAll(".sc-ref[data-entry]")].find((b) => b.dataset.n === ref.dataset.n);
    if (entry && entry !== ref) {
      entry.scrollIntoView({behavior: "smooth", block: "center"});
      entry.focus({preventScroll: true});
    }
  }

  function exportable() {  // the conversation export is offered once the chat has a message
    const has = document.querySelector('#chatbot [data-testid="user"], #chatbot [data-testid="bot"]') !== null;
    document.querySelectorAll(".sc-export-chat").forEach((button) => {
      if (button.disabled !== !has) button.disabled = !has;
      const title = has ? "" : button.dataset.empty;
      if (button.title !== title) button.title = title;
    });
    return has;
  }

  function restoreTicks() {
    document.querySelectorAll("#checklist .sc-tick").forEach((box) => {
      box.checked = sessionStorage.getItem("tick:" + box.dataset.key) === "1";
    });
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], {type: "text/markdown;charset=utf-8"}));
    const a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function checklistMarkdown(button) {
    const root = document.querySelector("#checklist");
    const lines = ["# " + root.querySelector("h2").textContent, "", root.querySelector(".sc-muted").textContent, ""];
    root.querySelectorAll("h3").forEach((h) => {
      lines.push("## " + h.textContent, "");
      const list = h.nextElementSibling;
      list.querySelectorAll("li").forEach((li) => {
        const box = li.querySelector(".sc-tick"), label = li.querySelector("label");
        const id = li.dataset.id, rest = label.textContent.trim().slice(id.length).trim();
        lines.push(`- [${box.checked ? "x" : " "}] **${id}** ${rest}`);
      });
      lines.push("");
    });
    lines.push("_" + button.dataset.footer + "_");
    return lines.join("\n") + "\n";
  }

  // A question is the asker's own text: its markup characters are escaped, so that the Markdown
  // file shows them as typed where it is rendered (a pasted <img …>, **stars**, a "- " line).
  const plain = (text) => text.replace(/[\\`*_[\]<>|~#]/g, "\\$&")
    .replace(/^(\s*)([-+])(?=\s)/gm, "$1\\$2").replace(/^(\s*\d+)([.)])(?=\s)/gm, "$1\\$2");

  function chatMarkdown(button) {
    const d = button.dataset, lines = ["# " + d.title, ""], cited = [];
    document.querySelectorAll('#chatbot [data-testid="user"], #chatbot [data-testid="bot"]').forEach((m) => {
      const asked = m.dataset.testid === "user", text = m.innerText.trim();
      lines.push("## " + (asked ? d.you : d.answer), "", asked ? plain(text) : text, "");
      (m.innerText.match(/^\[\d+\] (\S+) —/gm) || []).forEach((s) => {
        const id = s.replace(/^\[\d+\] /, "").replace(/ —$/, "");
        if (!cited.includes(id)) cited.push(id);
      });
    });
    if (cited.length) {
      lines.push("## " + d.cited, "");
      cited.forEach((id) => {
        const s = seen[id] || {};
        lines.push(`### ${id} — ${s.label || ""}`, "", `**${d.nl}:** ${s.nl || ""}`, "");
        if (s.en) lines.push(`**${d.en}:** ${s.en}`, "");
      });
    }
    lines.push("_" + d.footer + "_");
    return lines.join("\n") + "\n";
  }

  // The source the last [n] click jumped to stays marked until another [n] is clicked or a new
  // answer comes: a mark that faded on a timer was gone if the reader looked away.
  let marked = null, answers = 0;  // marked: {n, id}
  const answerCount = () => document.querySelectorAll('#chatbot [data-testid="bot"]').length;
  function markSource() {
    const shown = answerCount();  // runs on every change of the page: count once
    if (shown !== answers) { answers = shown; marked = null; }
    document.querySelectorAll("#sources .sc-card").forEach((card) => {
      const on = marked !== null && card.dataset.n === marked.n && card.dataset.id === marked.id;
      if (card.classList.contains("sc-marked") !== on) card.classList.toggle("sc-marked", on);
    });
  }

  document.addEventListener("click", (event) => {
    const ref = event.target.closest(".sc-ref");
    if (ref) { goToSource(ref); return; }
    const exportList = event.target.closest(".sc-export-checklist");
    if (exportList) { download(exportList.dataset.file, checklistMarkdown(exportList)); return; }
    const exportChat = event.target.closest(".sc-export-chat");
    if (exportChat && exportable()) { remember(); download(exportChat.dataset.file, chatMarkdown(exportChat)); }
  });
  // Ask (or Enter) with nothing in the box sends nothing: the server would refuse it with HTTP
  // 422, an error in the browser's console. The box says why, in the browser's own way, until
  // the reader types. "Nothing" is what the server's cleaning leaves empty: white space and
  // control, format and private-use characters.
  const blank = /^[\s\p{Cc}\p{Cf}\p{Cs}\p{Co}]*$/u;
  function refuseEmpty(event) {
    const box = document.querySelector("#question textarea");
    if (!box || !blank.test(box.value)) return;
    event.preventDefault();
    event.stopPropagation();  // Gradio's handlers of the button and the box never see it (this listener captures)
    const header = document.querySelector(".sc-header[data-empty-question]");
    box.setCustomValidity(header ? header.dataset.emptyQuestion : "");
    box.reportValidity();
  }
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("#ask")) refuseEmpty(event);
  }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.target.closest
        && event.target.closest("#question textarea")) refuseEmpty(event);
  }, true);
  document.addEventListener("input", (event) => {
    if (event.target.closest && event.target.closest("#question textarea")) event.target.setCustomValidity("");
  }, true);
  document.addEventListener("change", (event) => {
    const box = event.target.closest ? event.target.closest(".sc-tick") : null;
    if (box) sessionStorage.setItem("tick:" + box.dataset.key, box.checked ? "1" : "0");
  });
  // A new answer shows from its start (the chat itself does not scroll to the bottom of a long
  // answer): the chat scrolls to the question and the answer's first lines, and the page scrolls
  // to the chat when that is out of view (on a phone the chat sits below the question box).
  let bubbles = 0;
  function showNewAnswer() {
    const bots = document.querySelectorAll('#chatbot [data-testid="bot"]');
    const grew = bots.length > bubbles;
    bubbles = bots.length;
    if (!grew) return;
    const row = bots[bots.length - 1].closest(".message-row") || bots[bots.length - 1];
    requestAnimationFrame(() => {
      const wrap = document.querySelector("#chatbot .bubble-wrap");
      if (!wrap || !row.isConnected) return;
      let target = row, before = row.previousElementSibling;  // the question too, when it
      while (before && !before.classList.contains("message-row")) before = before.previousElementSibling;
      if (before && before.classList.contains("user-row") && before.offsetHeight < wrap.clientHeight * 0.4) {
        target = before;  // leaves room for the answer's first lines
      }
      const label = document.querySelector('#chatbot [data-testid="block-label"]');  // floats over the top
      const top = Math.max(wrap.getBoundingClientRect().top, label ? label.getBoundingClientRect().bottom : 0);
      wrap.scrollTop += target.getBoundingClientRect().top - top - 6;
      const start = row.getBoundingClientRect().top;
      if (start < 0 || start > window.innerHeight - 160) {
        window.scrollBy({top: document.getElementById("chatbot").getBoundingClientRect().top - 8});
      }
    });
  }

  function htmlLang() {  // <html lang> follows the interface language shown
    const header = document.querySelector(".sc-header[data-lang]");
    if (header && document.documentElement.lang !== header.dataset.lang) document.documentElement.lang = header.dataset.lang;
  }

  new MutationObserver(() => { linkRefs(); restoreTicks(); remember(); htmlLang(); markSource(); exportable(); showNewAnswer(); })
    .observe(document.body, {childList: true, subtree: true, characterData: true});
}
