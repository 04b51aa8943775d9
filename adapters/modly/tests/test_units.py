"""Unit tests of the extension's pure parts: finding codex-img, the request a node sends, progress,
the coded errors, and which node a process serves. Standard library only:

    python3 -m unittest discover -s adapters/modly/tests -p 'test_*.py'
"""

import sys
import tempfile
import traceback
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.dont_write_bytecode = True

from codex_img_modly import errors, locate, nodes, progress, request, stdin_watch  # noqa: E402


def executable(path):
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


class Locate(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.ext = self.dir / "ext"
        self.ext.mkdir()
        self.bin = self.dir / "bin dir"
        self.bin.mkdir()

    def tearDown(self):
        import shutil

        shutil.rmtree(self.dir)

    def find(self, environ):
        return locate.command(self.ext, environ=environ, usual_dirs=[])

    def test_an_existing_path_is_taken_whole_spaces_included(self):
        exe = executable(self.bin / "codex-img")
        self.assertEqual(self.find({"CODEX_IMG_BIN": str(exe), "PATH": ""}), [str(exe)])

    def test_a_command_with_arguments_is_found_on_path(self):
        npx = executable(self.bin / "npx")
        found = self.find({"CODEX_IMG_BIN": "npx -y codex-img", "PATH": str(self.bin)})
        self.assertEqual(found, [str(npx), "-y", "codex-img"])

    def test_settings_json_may_give_the_command_as_a_list(self):
        exe = executable(self.bin / "codex-img")
        (self.ext / "settings.json").write_text(f'{{"codex_img": ["{exe}", "-c", "k=\\"v w\\""]}}')
        self.assertEqual(self.find({"PATH": ""}), [str(exe), "-c", 'k="v w"'])

    def test_the_variable_wins_over_settings_json_and_path(self):
        exe = executable(self.bin / "codex-img")
        (self.ext / "settings.json").write_text('{"codex_img": "/nowhere/codex-img"}')
        self.assertEqual(self.find({"CODEX_IMG_BIN": str(exe), "PATH": ""}), [str(exe)])

    def test_path_then_the_usual_folders(self):
        exe = executable(self.bin / "codex-img")
        self.assertEqual(self.find({"PATH": str(self.bin)}), [str(exe)])
        usual = locate.command(self.ext, environ={"PATH": ""}, usual_dirs=[self.bin])
        self.assertEqual(usual, [str(exe)])

    def test_missing_names_the_variable_and_the_settings_file(self):
        with self.assertRaises(errors.CodexImgError) as caught:
            self.find({"PATH": str(self.bin)})
        self.assertEqual(caught.exception.code, "preflight/codex_img_missing")
        self.assertIn("CODEX_IMG_BIN", caught.exception.message)
        self.assertIn(str(self.ext / "settings.json"), caught.exception.message)
        self.assertIn("npx -y codex-img", caught.exception.message)

    def test_a_configured_command_that_is_not_there_names_where_it_was_configured(self):
        with self.assertRaises(errors.CodexImgError) as caught:
            self.find({"CODEX_IMG_BIN": "codex-img-typo serve", "PATH": str(self.bin)})
        self.assertEqual(caught.exception.code, "preflight/codex_img_missing")
        self.assertIn("CODEX_IMG_BIN runs `codex-img-typo`", caught.exception.message)

    def test_broken_settings_json_is_a_coded_error(self):
        (self.ext / "settings.json").write_text("{not json")
        with self.assertRaises(errors.CodexImgError) as caught:
            self.find({"PATH": ""})
        self.assertEqual(caught.exception.code, "preflight/invalid_settings")

    def test_codex_bin_comes_from_settings_unless_the_variable_is_set(self):
        (self.ext / "settings.json").write_text('{"codex_bin": "/opt/codex/codex"}')
        self.assertEqual(locate.codex_bin(self.ext, environ={}), "/opt/codex/codex")
        self.assertIsNone(locate.codex_bin(self.ext, environ={"CODEX_BIN": "/usr/bin/codex"}))


class Request(unittest.TestCase):
    def test_text_to_image_sends_the_prompt_and_options_never_the_attached_image(self):
        sent = request.build(
            nodes.TEXT_TO_IMAGE,
            {"prompt": "a fox", "size": "16:9", "quality": "high", "background": "auto"},
            b"\x89PNG attached",
            "/out",
            "/ws",
        )
        self.assertEqual(
            sent, {"prompt": "a fox", "output": str(Path("/out").resolve()), "aspect": "16:9", "quality": "high", "format": "png"}
        )

    def test_a_size_is_a_size_and_auto_says_nothing(self):
        sent = request.build(nodes.TEXT_TO_IMAGE, {"prompt": "p", "size": "1024x1536"}, b"", "/o", "/w")
        self.assertEqual(sent["size"], "1024x1536")
        sent = request.build(nodes.TEXT_TO_IMAGE, {"prompt": "p"}, b"", "/o", "/w")
        self.assertNotIn("size", sent)
        self.assertNotIn("aspect", sent)
        self.assertNotIn("quality", sent)

    def test_image_to_image_sends_the_image_then_the_references_in_order(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            (base / "style").mkdir()
            for name in ("b.webp", "a.png", "notes.txt"):
                (base / "style" / name).write_bytes(b"x")
            text = '"/abs/one.png";\n two.jpg ; style'
            sent = request.build(
                nodes.IMAGE_TO_IMAGE, {"prompt": "p", "references": text, "extra_image_paths": ["/x/c.png"]}, b"IMG", "/o", base
            )
            self.assertEqual(sent["image"], {"base64": "SU1H"})
            self.assertEqual(
                [r["path"] for r in sent["references"]],
                ["/abs/one.png", str(base / "two.jpg"), str(base / "style/a.png"), str(base / "style/b.webp"), "/x/c.png"],
            )

    def test_image_to_image_without_an_image_is_a_coded_error(self):
        with self.assertRaises(errors.CodexImgError) as caught:
            request.build(nodes.IMAGE_TO_IMAGE, {"prompt": "p"}, b"", "/o", "/w")
        self.assertEqual(caught.exception.code, "request/invalid_image")


class Progress(unittest.TestCase):
    def test_phases_then_a_creep_that_never_goes_back_or_past_88(self):
        now = [0.0]
        seen = []
        p = progress.Progress(lambda pct, step: seen.append((pct, step)), clock=lambda: now[0])
        for phase in ("queued", "thread_started", "generating"):
            p.phase(phase)
        for t in range(0, 600, 5):
            now[0] = float(t)
            p.tick()
        p.phase("something_new")
        p.phase("image_received")
        p.phase("done")
        pcts = [pct for pct, _ in seen]
        self.assertEqual(pcts, sorted(pcts))
        self.assertEqual(pcts[:3], [3, 10, 15])
        self.assertEqual(pcts[-2:], [92, 97])
        self.assertLessEqual(max(pcts[:-2]), 88)
        self.assertTrue(any(step.startswith("Generating the image (") for _, step in seen))


class Errors(unittest.TestCase):
    def test_the_last_traceback_line_is_code_colon_message(self):
        try:
            raise errors.coded("runtime/usage_limit", "the limit is reached until 14:05")
        except errors.CodexImgError:
            last = traceback.format_exc().rstrip().splitlines()[-1]
        self.assertEqual(last, "runtime/usage_limit: the limit is reached until 14:05")

    def test_rpc_errors_keep_their_code_and_say_where_a_recovered_image_is(self):
        e = errors.from_rpc({"code": -32005, "message": "m", "data": {"code": "output/write_failed", "message": "disk full", "recovered_path": "/r/x.png"}})
        self.assertEqual(e.line, "output/write_failed: disk full (the image is kept at /r/x.png)")
        e = errors.from_rpc({"code": -32602, "message": "invalid params: unknown field"})
        self.assertEqual(e.line, "request/invalid_params: invalid params: unknown field")

    def test_a_usage_limit_says_the_local_reset_time(self):
        e = errors.from_rpc({"code": -32003, "data": {"code": "runtime/usage_limit", "message": "reached", "resets_at": 1800000000}})
        self.assertRegex(e.message, r"^reached \(resets (at|on \d{4}-\d\d-\d\d at) \d\d:\d\d local time\)$")


class Nodes(unittest.TestCase):
    def test_the_node_comes_from_model_node_id_then_the_model_folder(self):
        self.assertEqual(nodes.serving(None, {"MODEL_NODE_ID": "image-to-image"}), "image-to-image")
        self.assertEqual(nodes.serving("/m/codex-img/image-to-image", {}), "image-to-image")
        self.assertEqual(nodes.serving(None, {"MODEL_DIR": "/m/codex-img/image-to-image"}), "image-to-image")
        self.assertEqual(nodes.serving(None, {}), "text-to-image")

    def test_only_a_cancel_is_taken_from_the_runners_stdin(self):
        self.assertTrue(stdin_watch._is_cancel(b'{"action": "cancel", "id": "x"}\n'))
        self.assertFalse(stdin_watch._is_cancel(b'{"action": "unload"}\n'))
        self.assertFalse(stdin_watch._is_cancel(b"not json\n"))


if __name__ == "__main__":
    unittest.main()
