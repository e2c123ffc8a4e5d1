"""Building the site with mkdocs' Python API, in strict mode."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from generator.errors import InputError, Problem, SiteError


class _TemplateCache:
    """The theme's compiled templates, kept in memory between builds in one process.

    mkdocs compiles Material's templates anew for every build, which is about half
    of a small site's build time (it matters to ``journal serve``). jinja2 keys each
    entry by the template's name and source checksum, so an edited template is
    compiled again. Installed through mkdocs' public ``on_env`` plugin event."""

    def __init__(self) -> None:
        import jinja2.bccache

        class Cache(jinja2.bccache.BytecodeCache):
            def __init__(self) -> None:
                self.code: dict[str, bytes] = {}

            def load_bytecode(self, bucket) -> None:
                if bucket.key in self.code:
                    bucket.bytecode_from_string(self.code[bucket.key])

            def dump_bytecode(self, bucket) -> None:
                self.code[bucket.key] = bucket.bytecode_to_string()

        self.cache = Cache()

    def plugin(self):
        from mkdocs.plugins import BasePlugin

        cache = self.cache

        class Templates(BasePlugin):
            def on_env(self, env, *, config, files):
                env.bytecode_cache = cache
                return env

        return Templates()


_TEMPLATES: _TemplateCache | None = None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def load(root: Path, config_file: str = "mkdocs.yml", **overrides):
    from mkdocs.config import load_config
    from mkdocs.exceptions import ConfigurationError

    path = root / config_file
    if not path.is_file():
        raise InputError(Problem(config_file, None, None, "not found: the journal's site is "
                                                          "configured in mkdocs.yml (`journal init .` "
                                                          "adds one)"))
    from mkdocs.exceptions import MkDocsException
    from yaml import YAMLError

    log = logging.getLogger("mkdocs")
    collect = _Collect()
    log.addHandler(collect)
    try:
        return load_config(str(path), **overrides)
    except (ConfigurationError, MkDocsException, YAMLError) as e:
        said = "; ".join(m.split(": ", 1)[-1] for m in collect.messages if m.startswith("error"))
        raise InputError(Problem(config_file, None, None,
                                 f"invalid mkdocs configuration: {said or e}")) from None
    finally:
        log.removeHandler(collect)


def build_site(root: Path, *, site_dir: Path | None = None, config_file: str = "mkdocs.yml",
               strict: bool = True, dirty: bool = False) -> Path:
    """Build with mkdocs; ``dirty``: only the pages whose source is newer than their output."""
    from mkdocs.commands.build import build
    from mkdocs.exceptions import Abort, MkDocsException

    overrides = {"strict": strict}
    if site_dir is not None:
        overrides["site_dir"] = str(site_dir)
    config = load(root, config_file, **overrides)
    global _TEMPLATES
    _TEMPLATES = _TEMPLATES or _TemplateCache()
    config.plugins["journal-templates"] = _TEMPLATES.plugin()
    log = logging.getLogger("mkdocs")
    collect = _Collect()
    log.addHandler(collect)
    config.plugins.on_startup(command="build", dirty=dirty)
    cwd = os.getcwd()
    os.chdir(root)  # snippets and plugins resolve paths from the working directory
    try:
        build(config, dirty=dirty)
    except (Abort, MkDocsException, OSError) as e:
        detail = "\n".join(collect.messages[-20:])
        raise SiteError(f"mkdocs could not build the site: {e}\n{detail}".rstrip()) from None
    finally:
        os.chdir(cwd)
        config.plugins.on_shutdown()
        log.removeHandler(collect)
    return Path(config["site_dir"])
