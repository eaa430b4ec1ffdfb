//! Which globals a pickle may name: the modules and built-ins only an attack
//! would reference, refused before anything else is read.

/// Modules whose attributes a legitimate checkpoint never needs and an
/// attack does: running commands, touching files, importing or evaluating
/// code.
const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "shutil",
    "socket",
    "importlib",
    "runpy",
    "pty",
    "commands",
    "webbrowser",
    "ctypes",
    "multiprocessing",
    "code",
    "pdb",
    "timeit",
    "pickle",
    "_pickle",
    "marshal",
    "shelve",
    "tempfile",
    "signal",
    "threading",
    "asyncio",
];
/// Built-ins that evaluate code, reach arbitrary attributes or files.
const DANGEROUS_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "input",
    "breakpoint",
    "exit",
    "quit",
    "help",
    "memoryview",
];

pub(super) fn is_dangerous(module: &str, name: &str) -> bool {
    let top = module.split('.').next().unwrap_or(module);
    DANGEROUS_MODULES.contains(&top)
        || (matches!(module, "builtins" | "__builtin__") && DANGEROUS_BUILTINS.contains(&name))
}
