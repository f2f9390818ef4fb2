/* The reply and note editor: Quill (static/vendor/quill) over each textarea[data-editor].
 *
 * An enhancement like everything in panel.js: without it the textarea posts plain text.
 * With it, the editor's HTML goes into the same textarea (so the draft autosave and the
 * form post keep working) and the form's hidden `format` says "html". Quill embeds an
 * image pasted or dropped into it as a data: URL; in the textarea that image is written
 * `cid:pasted-image-N.png` and the post carries it as an uploaded file of that name
 * (`inline_images`), which the server stores as an inline attachment
 * (helpdesk/editor.py) before sanitising the body. Other files dropped or pasted into
 * the editor are added to the form's attachments input.
 *
 * The draft autosave (the textarea's own hx-post) sends the pasted images its body names
 * too, each once per page (threads.services.draft_save keeps them with the draft); a
 * reloaded page gets them back as data: URLs in the draft (threads.selectors.draft_for),
 * which the editor shows and names again like freshly pasted ones.
 */
(function () {
  "use strict";
  if (!window.Quill) return;

  // the toolbar's names come from the JavaScript catalogue (/jsi18n/, locale/*/djangojs.po)
  var gettext = window.gettext || function (text) { return text; };
  var BUTTON_NAMES = {
    "ql-bold": gettext("Bold"),
    "ql-italic": gettext("Italic"),
    "ql-underline": gettext("Underline"),
    "ql-strike": gettext("Strikethrough"),
    "ql-list ordered": gettext("Numbered list"),
    "ql-list bullet": gettext("Bulleted list"),
    "ql-blockquote": gettext("Quote"),
    "ql-code-block": gettext("Code block"),
    "ql-link": gettext("Link"),
    "ql-image": gettext("Image"),
    "ql-clean": gettext("Remove formatting"),
  };

  function nameButtons(toolbar) {
    Array.prototype.forEach.call(toolbar.querySelectorAll("button"), function (button) {
      var key = button.className + (button.value ? " " + button.value : "");
      var name = BUTTON_NAMES[key];
      if (name) {
        button.setAttribute("aria-label", name);
        button.title = name;
      }
    });
  }

  var IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
  var TOOLBAR = [
    ["bold", "italic", "underline", "strike"],
    [{ list: "ordered" }, { list: "bullet" }, "blockquote", "code-block"],
    ["link", "image"],
    ["clean"],
  ];

  var DATA_SRC = /src="(data:(image\/[a-z0-9.+-]+);base64,[^"]*)"/gi;
  var EXT = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp" };

  function toFile(dataUrl, type, name) {
    var raw = atob(dataUrl.slice(dataUrl.indexOf(",") + 1));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new File([bytes], name, { type: type });
  }

  // the editor's HTML with each embedded image named (and kept as a File on the textarea)
  function withNamedImages(area, html) {
    return html.replace(DATA_SRC, function (whole, url, type) {
      var name = area.pastedNames[url];
      if (!name) {
        area.pastedCount += 1;
        name = "pasted-image-" + area.pastedCount + "." + (EXT[type.toLowerCase()] || "png");
        area.pastedNames[url] = name;
        area.pastedFiles[name] = toFile(url, type, name);
      }
      return 'src="cid:' + name + '"';
    });
  }

  function looksLikeHtml(text) {
    return /^\s*</.test(text || "");
  }

  function addFiles(form, files) {
    var input = form.querySelector("[data-dropzone] input[type=file]");
    if (!input || !files.length) return;
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
    files.forEach(function (f) { all.items.add(f); });
    input.files = all.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function otherFiles(list) {
    return Array.prototype.filter.call(list || [], function (f) {
      return IMAGE_TYPES.indexOf(f.type) === -1;
    });
  }

  function attach(area) {
    if (area.dataset.editorReady) return;
    area.dataset.editorReady = "1";
    var form = area.form;
    var format = form.querySelector("[data-editor-format]");
    var label = form.querySelector("label[for='" + area.id + "']");
    var holder = document.createElement("div");
    holder.className = "editor";
    area.parentNode.insertBefore(holder, area);
    var quill = new Quill(holder, {
      theme: "snow",
      modules: { toolbar: TOOLBAR },
    });
    nameButtons(quill.getModule("toolbar").container);
    var initial = area.value;
    area.pastedNames = {}; area.pastedFiles = {}; area.pastedCount = 0;
    // a draft's pasted images come back as data: URLs; one the server could not put back
    // (its file is gone) is left out
    initial = initial.replace(/<img[^>]*src="cid:pasted-image-[^"]*"[^>]*>/g, "");
    if (looksLikeHtml(initial)) {
      quill.clipboard.dangerouslyPasteHTML(initial, "silent");  // the agent's own draft
    } else if (initial) {
      quill.setText(initial, "silent");
    }
    // the editor takes the textarea's label and place; the textarea carries the value
    if (label) {
      label.id = label.id || area.id + "-label";
      label.removeAttribute("for");
      quill.root.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { quill.focus(); });
    }
    quill.root.setAttribute("role", "textbox");
    quill.root.setAttribute("aria-multiline", "true");
    if (area.getAttribute("aria-describedby")) {
      quill.root.setAttribute("aria-describedby", area.getAttribute("aria-describedby"));
    }
    area.required = false;
    area.hidden = true;
    area.editor = quill;
    format.value = "html";
    function sync() {
      var empty = quill.getLength() <= 1 && !quill.root.querySelector("img");
      area.value = empty ? "" : withNamedImages(area, quill.getSemanticHTML());
      area.dispatchEvent(new Event("input", { bubbles: true }));  // the draft autosave
    }
    quill.on("text-change", sync);
    if (initial) area.value = quill.getLength() > 1 ? withNamedImages(area, quill.getSemanticHTML()) : "";
    // Quill embeds dropped and pasted images itself; other files become attachments
    quill.root.addEventListener("drop", function (event) {
      addFiles(form, otherFiles(event.dataTransfer && event.dataTransfer.files));
    });
    quill.root.addEventListener("paste", function (event) {
      var files = otherFiles(event.clipboardData && event.clipboardData.files);
      if (files.length) { event.preventDefault(); addFiles(form, files); }
    }, true);
  }

  // the post carries the images its body names (htmx builds the request from the form)
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.tagName === "TEXTAREA" && form.editor) {
      sendDraftImages(form, event.detail.formData);
      return;
    }
    if (!form || form.tagName !== "FORM") return;
    var area = form.querySelector("textarea[data-editor]");
    if (!area || !area.editor) return;
    Object.keys(area.pastedFiles).forEach(function (name) {
      if (area.value.indexOf('src="cid:' + name + '"') !== -1) {
        event.detail.formData.append("inline_images", area.pastedFiles[name]);
      }
    });
  });

  // the draft autosave carries each image its body names, once (again after a failure)
  function sendDraftImages(area, formData) {
    area.draftSent = area.draftSent || {};
    Object.keys(area.pastedFiles).forEach(function (name) {
      var file = area.pastedFiles[name];
      if (area.value.indexOf('src="cid:' + name + '"') === -1 || area.draftSent[name] === file) return;
      formData.append("inline_images", file);
      area.draftSent[name] = file;
    });
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var area = event.detail.elt;
    if (!area || area.tagName !== "TEXTAREA" || !area.editor) return;
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status < 200 || xhr.status >= 300) area.draftSent = {};
  });

  function attachAll(root) {
    (root || document).querySelectorAll("textarea[data-editor]").forEach(attach);
  }

  // canned responses (panel.js) and keyboard shortcuts reach the editor through the textarea
  window.panelEditor = {
    insertText: function (area, text) {
      var quill = area.editor;
      if (!quill) return false;
      var end = quill.getLength() - 1;
      quill.insertText(end, (end > 0 ? "\n" : "") + text, "user");
      quill.setSelection(quill.getLength(), 0);
      return true;
    },
    focus: function (area) {
      if (!area || !area.editor) return false;
      area.editor.focus();
      return true;
    },
  };

  if (window.htmx) {
    htmx.onLoad(function (el) { attachAll(el.querySelectorAll ? el : document); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { attachAll(document); });
  }
})();
