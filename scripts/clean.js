// The build starts from an empty dist/, so a compiled file whose source was deleted cannot linger
// and run as a test.
"use strict";
require("fs").rmSync(require("path").resolve(__dirname, "..", "dist"), { recursive: true, force: true });
