//! The plan every back end runs agrees with the checked IR, on every spec in
//! the repository: the same parameter layout as the IR's tensors (which weight
//! files are checked against), every step reading only what an earlier step
//! wrote, and a backward pass that writes the gradient of every parameter once.

use nnspec_lang::check_source;
use nnspec_lang::ir::Network;
use nnspec_lang::plan::{Buf, Source, Step};
use std::path::Path;

fn specs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut specs = Vec::new();
    for entry in std::fs::read_dir(root.join("examples/specs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "nn") {
            specs.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    let language = std::fs::read_to_string(root.join("docs/language.md")).unwrap();
    for (index, block) in language.split("```nn\n").skip(1).filter_map(|b| b.split("```").next()).enumerate() {
        specs.push((format!("docs/language.md block {index}"), block.to_string()));
    }
    specs
}

fn check_network(origin: &str, net: &Network) {
    let plan = net.plan();
    assert_eq!(plan.param_count, net.param_count, "{origin}: `{}` parameter count", net.name);
    let ranges: Vec<_> = plan.tensors.iter().map(|t| (t.name.clone(), t.range.clone())).collect();
    let tensors: Vec<_> = net.tensors.iter().map(|t| (t.name.clone(), t.offset..t.offset + t.len)).collect();
    assert_eq!(ranges, tensors, "{origin}: `{}` tensors", net.name);

    let mut state = State {
        origin,
        slots: &plan.slots,
        written: vec![false; plan.slots.len()],
        gradient: vec![0; plan.param_count],
    };
    for step in &plan.forward {
        state.visit(step);
    }
    if let Some(head) = plan.head {
        state.read(head.z);
        state.read(head.a);
        state.written[head.grad.slot] = true;
    }
    for step in &plan.backward {
        state.visit(step);
    }
    let gradient = state.gradient;
    assert!(gradient.iter().all(|&n| n == 1), "{origin}: `{}` gradient written {gradient:?} times", net.name);
}

struct State<'a> {
    origin: &'a str,
    slots: &'a [usize],
    written: Vec<bool>,
    gradient: Vec<usize>,
}

impl State<'_> {
    fn read(&self, buf: Buf) {
        assert!(buf.width <= self.slots[buf.slot], "{}: a step reads past slot {}", self.origin, buf.slot);
        assert!(self.written[buf.slot], "{}: slot {} is read before it is written", self.origin, buf.slot);
    }

    fn source(&self, source: Source) {
        if let Source::Buf(buf) | Source::Dropout { inference: buf, .. } = source {
            self.read(buf);
        }
        if let Source::Dropout { training, .. } = source {
            self.read(training);
        }
    }

    fn write(&mut self, buf: Buf) {
        assert!(buf.width <= self.slots[buf.slot], "{}: a step writes past slot {}", self.origin, buf.slot);
        self.written[buf.slot] = true;
    }

    fn visit(&mut self, step: &Step) {
        match step {
            Step::Dense { input, output, .. } => {
                self.source(*input);
                self.write(*output);
            }
            Step::Activation { z, a, .. } => {
                self.read(*z);
                self.write(*a);
            }
            Step::Dropout { input, mask, output, .. } => {
                self.read(*input);
                self.write(*mask);
                self.write(*output);
            }
            Step::DenseBackward { input, weight, bias, dz, dx, .. }
            | Step::ConvBackward { input, weight, bias, dz, dx, .. } => {
                self.source(*input);
                self.read(*dz);
                for index in weight.clone().chain(bias.clone().unwrap_or(0..0)) {
                    self.gradient[index] += 1;
                }
                if let Some(dx) = dx {
                    self.write(*dx);
                }
            }
            Step::Conv { input, weight, bias, output, geometry } => {
                self.source(*input);
                assert_eq!(weight.len(), geometry.weight_len(), "{}: conv weights", self.origin);
                assert!(bias.as_ref().is_none_or(|b| b.len() == geometry.out_channels), "{}: conv bias", self.origin);
                self.write(*output);
            }
            Step::Recurrent { input, params, output, cache, geometry } => {
                self.source(*input);
                let len = geometry.directions() * geometry.direction_params();
                assert_eq!(params.len(), len, "{}: recurrent parameters", self.origin);
                self.write(*output);
                self.write(*cache);
            }
            Step::RecurrentBackward { input, params, cache, dout, dx, .. } => {
                self.source(*input);
                self.read(*cache);
                self.read(*dout);
                for index in params.clone() {
                    self.gradient[index] += 1;
                }
                if let Some(dx) = dx {
                    self.write(*dx);
                }
            }
            Step::Pool { input, output, argmax, .. } => {
                self.source(*input);
                self.write(*output);
                if let Some(argmax) = argmax {
                    self.write(*argmax);
                }
            }
            Step::PoolBackward { grad, argmax, dx, .. } => {
                self.read(*grad);
                if let Some(argmax) = argmax {
                    self.read(*argmax);
                }
                self.write(*dx);
            }
            Step::LayerNorm { input, output, xhat, rstd: stats, .. }
            | Step::BatchNorm { input, output, xhat, stats, .. } => {
                self.source(*input);
                self.write(*output);
                self.write(*xhat);
                self.write(*stats);
            }
            Step::LayerNormBackward { grad, scale, shift, xhat, rstd, dx }
            | Step::BatchNormBackward { grad, scale, shift, xhat, stats: rstd, dx, .. } => {
                self.read(*grad);
                self.read(*xhat);
                self.read(*rstd);
                for index in scale.clone().chain(shift.clone()) {
                    self.gradient[index] += 1;
                }
                if let Some(dx) = dx {
                    self.write(*dx);
                }
            }
            Step::Copy { from, to } | Step::Standardize { input: from, output: to, .. } => {
                self.source(*from);
                self.write(*to);
            }
            Step::Accumulate { from, into } => {
                self.source(*from);
                self.read(*into);
            }
            Step::PlaceColumns { from, width, to, offset } => {
                self.source(*from);
                assert!(offset + width <= to.width, "{}: columns past the end", self.origin);
                self.write(*to);
            }
            Step::TakeColumns { from, to, offset, accumulate } => {
                self.read(*from);
                assert!(offset + to.width <= from.width, "{}: columns past the end", self.origin);
                if *accumulate {
                    self.read(*to);
                } else {
                    self.write(*to);
                }
            }
            Step::DropoutBackward { mask, grad, .. } => {
                self.read(*mask);
                self.read(*grad);
            }
            Step::ActivationBackward { z, a, grad, .. } => {
                self.read(*z);
                self.read(*a);
                self.read(*grad);
            }
        }
    }
}

#[test]
fn every_plan_matches_its_networks_layout_and_reads_only_what_it_wrote() {
    let mut networks = 0;
    for (origin, source) in specs() {
        let Ok(checked) = check_source(&source) else { continue };
        for net in &checked.program.networks {
            check_network(&origin, net);
            networks += 1;
        }
    }
    assert!(networks >= 10, "only {networks} networks found");
}
