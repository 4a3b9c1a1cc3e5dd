//! Trampoline: everything lives in the library so tests and examples can reach it.

fn main() -> std::process::ExitCode {
    qwenctl::main()
}
