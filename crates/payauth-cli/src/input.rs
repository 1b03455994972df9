//! Where secrets and answers come from: the environment, a no-echo prompt on a terminal, or
//! lines on stdin when it is not a terminal (scripts and tests). Never from arguments.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};

use zeroize::Zeroizing;

use crate::fail::{ABORTED, Failure};

/// Reads secrets and answers for one command.
pub(crate) struct Input {
    terminal: bool,
}

impl Input {
    pub(crate) fn new() -> Self {
        Input {
            terminal: io::stdin().is_terminal(),
        }
    }

    /// The secret in environment variable `var`, else a no-echo prompt (terminal) or a line of
    /// stdin (not a terminal).
    pub(crate) fn secret(&self, var: &str, what: &str) -> Result<Zeroizing<String>, Failure> {
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            return Ok(Zeroizing::new(value));
        }
        self.hidden(&format!("{what}: "))
            .map_err(|f| f.hint(format!("set {var}, or type it at the prompt on a terminal")))
    }

    /// A value typed without echo (terminal) or the next line of stdin.
    pub(crate) fn hidden(&self, prompt: &str) -> Result<Zeroizing<String>, Failure> {
        let value = if self.terminal {
            Zeroizing::new(
                rpassword::prompt_password(prompt)
                    .map_err(|e| Failure::config(format!("cannot read from the terminal: {e}")))?,
            )
        } else {
            self.line()?.ok_or_else(|| {
                Failure::config(format!(
                    "no {} given: stdin ended",
                    prompt.trim_end_matches([':', ' '])
                ))
            })?
        };
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(Failure::config(format!(
                "no {} given",
                prompt.trim_end_matches([':', ' '])
            )));
        }
        Ok(Zeroizing::new(trimmed.to_owned()))
    }

    /// Asks a yes/no question (default no). Not a terminal: reads the answer from stdin.
    pub(crate) fn confirm(&self, question: &str, skip: bool) -> Result<(), Failure> {
        if skip {
            return Ok(());
        }
        if self.terminal {
            eprint!("{question} [y/N] ");
            let _ = io::stderr().flush();
        }
        let answer = self.line()?.map(|a| a.trim().to_ascii_lowercase());
        if matches!(answer.as_deref(), Some("y" | "yes")) {
            Ok(())
        } else {
            Err(Failure::new(ABORTED, "aborted: not confirmed").hint("answer y, or pass --yes"))
        }
    }

    /// One line of stdin, without its line ending; `None` at end of input.
    fn line(&self) -> Result<Option<Zeroizing<String>>, Failure> {
        let mut line = Zeroizing::new(String::new());
        let read = io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::config(format!("cannot read stdin: {e}")))?;
        if read == 0 {
            return Ok(None);
        }
        let end = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(end);
        Ok(Some(line))
    }

    pub(crate) fn is_terminal(&self) -> bool {
        self.terminal
    }
}
