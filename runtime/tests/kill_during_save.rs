//! A weight file survives a kill in the middle of a save: a child process
//! saves a network again and again, each save with every parameter equal to
//! its round number; it is killed at several moments after its first save has
//! landed; the file must then load, hold a single save (no mix of two), and be
//! one of the child's (so the child did save before the kill).
//!
//! Its own test binary without the libtest harness, so the child mode (this
//! binary run with `NNSPEC_SAVE_FOREVER` set) is not a test of its own.

use nnspec::weights::{load, save};
use nnspec::{Activation, Interpreter, Loss, Model};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn network() -> Interpreter {
    let layers = [("hidden", 256, Activation::Tanh), ("out", 1, Activation::Sigmoid)];
    Interpreter::new("Planar", 2, &layers, Loss::BinaryCrossEntropy)
}

/// The child: saves forever, round r with every parameter equal to r.
fn save_forever(path: &Path) -> ! {
    let mut model = network();
    let mut round = 0u32;
    loop {
        model.params_mut().fill(round as f32);
        if let Err(error) = save(&model, path) {
            eprintln!("save failed: {error}");
            std::process::exit(1);
        }
        round += 1;
    }
}

/// The value every parameter of the file holds, or an error naming what is wrong.
fn whole_save(path: &Path) -> Result<f32, String> {
    let mut restored = network();
    load(&mut restored, path).map_err(|e| format!("the file does not load after a kill: {e}"))?;
    let first = restored.params()[0];
    match restored.params().iter().all(|p| *p == first) {
        true => Ok(first),
        false => Err("the file mixes two saves".into()),
    }
}

fn kill_during_saves(path: &Path) -> Result<(), String> {
    let mut model = network();
    model.params_mut().fill(-1.0);
    save(&model, path).map_err(|e| e.to_string())?;
    for delay_ms in [0u64, 3, 20, 45] {
        let mut child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .env("NNSPEC_SAVE_FOREVER", path)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        // Wait for the child's first save to replace the parent's (-1).
        let started = Instant::now();
        while whole_save(path)? < 0.0 {
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                return Err("the child saved nothing in 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().map_err(|e| e.to_string())?;
        child.wait().map_err(|e| e.to_string())?;
        let value = whole_save(path)?;
        if value < 0.0 || value.fract() != 0.0 {
            return Err(format!("the file holds {value}, which no save wrote"));
        }
        println!("killed {delay_ms} ms after the first save: the file holds round {value}");
        model.params_mut().fill(-1.0);
        save(&model, path).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    if let Some(path) = std::env::var_os("NNSPEC_SAVE_FOREVER") {
        save_forever(Path::new(&path));
    }
    let dir = std::env::temp_dir().join(format!("nnspec-kill-{}", std::process::id()));
    let result = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|_| kill_during_saves(&dir.join("killed.safetensors")));
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => {
            println!("a kill during saves leaves a whole file: ok");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("a kill during saves leaves a whole file: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}
