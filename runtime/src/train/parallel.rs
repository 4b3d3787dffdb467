//! The two-thread step for large batches of large models: each half of the
//! rows on its own thread, combined as the whole batch's loss and gradient.

use crate::loss::Loss;
use crate::model::{Model, Workspace};
use crate::optim::Optimizer;

/// The fewest rows per batch worth splitting across two threads.
pub(super) const PARALLEL_MIN_ROWS: usize = 64;
/// The least rows × parameters per batch worth a thread: below it, spawning costs
/// more than it saves (W4 in `docs/performance.md`: 128 × 235 146 runs 1.7× faster on two).
pub(super) const PARALLEL_MIN_WORK: usize = 1 << 23;

/// What the second thread of a two-thread step owns: the thread itself, kept
/// for the whole run (spawning one per half-step cost about 40 µs each, 8% of
/// W4), a workspace and gradient buffer for the second half of the batch's
/// rows, and the optimizer for the second half of the parameters.
pub(super) struct SecondHalf {
    pub(super) thread: Box<thread_tree::ThreadTree>,
    pub(super) workspace: Workspace,
    pub(super) grad: Vec<f32>,
    pub(super) optimizer: Box<dyn Optimizer + Send>,
}

/// `loss_and_grad` on a batch split in two halves computed on two threads; the
/// halves' losses and gradients are combined as the whole batch's would be
/// (weighted by rows for mean losses, added for sums), each thread combining
/// half of the parameters and checking them finite on the way. Returns the
/// loss and whether every combined gradient is finite.
pub(super) fn split_loss_and_grad(
    model: &dyn Model,
    x: &[f32],
    y: &[f32],
    grad: &mut [f32],
    workspace: &mut Workspace,
    second: &mut SecondHalf,
) -> (f32, bool) {
    let rows = x.len() / model.input_size().max(1);
    let first_rows = rows / 2;
    let target_width = y.len() / rows.max(1);
    let (x1, x2) = x.split_at(first_rows * model.input_size());
    let (y1, y2) = y.split_at(first_rows * target_width);
    let (w1, w2) = if matches!(model.loss_kind(), Loss::Sse | Loss::SseHalf) {
        (1.0, 1.0)
    } else {
        (first_rows as f32 / rows as f32, (rows - first_rows) as f32 / rows as f32)
    };
    let half = grad.len() / 2;
    let SecondHalf { thread, workspace: w2s, grad: g2, .. } = second;
    // Each thread hands the other the half of its gradient that the other
    // combines. The tree runs the second job on its own thread (level 1), so
    // the two always run at once and neither waits on the other forever.
    let (to_second, from_first) = std::sync::mpsc::sync_channel::<&mut [f32]>(1);
    let (to_first, from_second) = std::sync::mpsc::sync_channel::<&[f32]>(1);
    let ((loss1, finite1), (loss2, finite2)) = thread.top().join(
        move |_| {
            let loss = model.loss_and_grad(x1, y1, Some(&mut grad[..]), workspace, true);
            let (first, rest) = grad.split_at_mut(half);
            let _ = to_second.send(rest);
            (loss, from_second.recv().is_ok_and(|second| combine(first, second, w1, w2)))
        },
        move |_| {
            let loss = model.loss_and_grad(x2, y2, Some(&mut g2[..]), w2s, true);
            let (theirs, mine) = g2.split_at(half);
            let _ = to_first.send(theirs);
            (loss, from_first.recv().is_ok_and(|first| combine(first, mine, w1, w2)))
        },
    );
    (w1 * loss1 + w2 * loss2, finite1 & finite2)
}

/// `g = w1·g + w2·h`, element by element; whether every result is finite
/// (one branch-free pass).
fn combine(g: &mut [f32], h: &[f32], w1: f32, w2: f32) -> bool {
    let mut finite = true;
    for (g, h) in g.iter_mut().zip(h) {
        *g = w1 * *g + w2 * h;
        finite &= g.is_finite();
    }
    finite
}

/// One optimizer step on two threads, each on half of the parameters with
/// its own optimizer instance (every optimizer is element-wise, so the two
/// take exactly the one step); each checks its half finite after it.
pub(super) fn split_step(
    optimizer: &mut (dyn Optimizer + Send),
    second: &mut SecondHalf,
    params: &mut [f32],
    grad: &[f32],
) -> bool {
    let split_at = grad.len() / 2;
    let (p1, p2) = params.split_at_mut(split_at);
    let (g1, g2) = grad.split_at(split_at);
    let SecondHalf { thread, optimizer: other, .. } = second;
    let (finite1, finite2) = thread.top().join(
        |_| {
            optimizer.step(p1, g1);
            all_finite(p1)
        },
        |_| {
            other.step(p2, g2);
            all_finite(p2)
        },
    );
    finite1 & finite2
}

/// Whether every value is finite (one branch-free pass).
#[inline]
pub fn all_finite(values: &[f32]) -> bool {
    values.iter().fold(true, |ok, v| ok & v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{Build as _, OptimizerConfig};
    use crate::{Activation, Interpreter};

    fn net(loss: Loss, output: Activation, outputs: usize) -> Interpreter {
        let mut mlp = Interpreter::new("Split", 3, &[("hidden", 5, Activation::Tanh), ("out", outputs, output)], loss);
        mlp.init_params(11);
        mlp
    }

    #[test]
    fn two_optimizers_on_the_halves_step_as_one_on_the_whole() {
        let configs = [
            OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true, weight_decay: 0.01 },
            OptimizerConfig::Adagrad {
                lr: 0.1,
                lr_decay: 0.01,
                weight_decay: 0.01,
                initial_accumulator_value: 0.1,
                eps: 1e-10,
            },
            OptimizerConfig::RmsProp {
                lr: 0.01,
                alpha: 0.9,
                eps: 1e-8,
                weight_decay: 0.01,
                momentum: 0.5,
                centered: true,
            },
            OptimizerConfig::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.99,
                eps: 1e-8,
                weight_decay: 0.01,
                amsgrad: true,
                decoupled: false,
            },
            OptimizerConfig::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.1,
                amsgrad: false,
                decoupled: true,
            },
        ];
        for config in configs {
            let mut whole: Vec<f32> = (0..11).map(|i| (i as f32 * 0.7).sin()).collect();
            let mut halves = whole.clone();
            let (mut one, mut first, mut second) = (config.build(), config.build(), config.build());
            for step in 0..4 {
                let grad: Vec<f32> = (0..11).map(|i| ((i + step * 11) as f32 * 1.3).cos()).collect();
                one.step(&mut whole, &grad);
                let (p1, p2) = halves.split_at_mut(5);
                first.step(p1, &grad[..5]);
                second.step(p2, &grad[5..]);
            }
            assert_eq!(whole, halves, "{config:?}");
        }
    }

    #[test]
    fn a_batch_split_across_threads_gives_the_whole_batch_loss_and_gradient() {
        let rows = 7;
        let x: Vec<f32> = (0..rows * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        for (loss, output) in [
            (Loss::Mse, Activation::Identity),
            (Loss::Sse, Activation::Identity),
            (Loss::SseHalf, Activation::Identity),
            (Loss::SoftmaxCrossEntropy, Activation::Identity),
        ] {
            let model = net(loss, output, 2);
            let y: Vec<f32> = match loss {
                Loss::SoftmaxCrossEntropy => (0..rows).flat_map(|r| [(r % 2) as f32, 1.0 - (r % 2) as f32]).collect(),
                _ => (0..rows * 2).map(|i| (i as f32 * 0.21).cos()).collect(),
            };
            let mut whole = vec![0.0; model.param_count()];
            let expected = model.loss_and_grad(&x, &y, Some(&mut whole), &mut Workspace::new(0), true);
            let mut split = vec![0.0; model.param_count()];
            let mut second = SecondHalf {
                thread: thread_tree::ThreadTree::new_with_level(1),
                workspace: Workspace::new(1),
                grad: vec![0.0; model.param_count()],
                // Unused by the split itself; the trainer steps with it.
                optimizer: OptimizerConfig::Sgd {
                    lr: 0.1,
                    momentum: 0.0,
                    dampening: 0.0,
                    nesterov: false,
                    weight_decay: 0.0,
                }
                .build(),
            };
            let (loss_value, finite) =
                split_loss_and_grad(&model, &x, &y, &mut split, &mut Workspace::new(0), &mut second);
            assert!(finite);
            assert!(
                (loss_value - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                "{loss:?}: {loss_value} vs {expected}"
            );
            for (a, b) in split.iter().zip(&whole) {
                assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{loss:?}: gradient {a} vs {b}");
            }
        }
    }
}
