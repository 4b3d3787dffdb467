//! Generated code allocates nothing in the steady state: after a first call has
//! sized the workspace, forward and loss-and-gradient passes on batches of the
//! same size (or smaller) make no heap allocation, and `predict` never does.

use nnspec::Workspace;
use nnspec_conformance_tests::registry;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made by this thread: the test harness's own threads
    /// allocate at times of their own (more often on a loaded machine).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_passes_do_not_allocate() {
    for (stem, _, make) in registry() {
        let mut model = make();
        model.init_params(3);
        let batch = 16;
        let x: Vec<f32> = (0..batch * model.input_size()).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
        let y: Vec<f32> = (0..batch).map(|i| (i % 2) as f32).collect();
        let targets = if model.loss_kind().takes_labels() { y.clone() } else { vec![0.5; batch * model.output_size()] };
        let mut out = vec![0.0; batch * model.output_size()];
        let mut grad = vec![0.0; model.param_count()];
        let mut workspace = Workspace::new(1);
        model.loss_and_grad(&x, &targets, Some(&mut grad), &mut workspace, true);
        let before = allocations();
        for _ in 0..10 {
            model.forward(&x, &mut out, &mut workspace);
            model.loss_and_grad(&x, &targets, Some(&mut grad), &mut workspace, true);
            model.loss_and_grad(
                &x[..8 * model.input_size()],
                &targets[..targets.len() / 2],
                None,
                &mut workspace,
                false,
            );
        }
        let after = allocations();
        assert_eq!(after - before, 0, "{stem}: {} allocations in the steady state", after - before);
    }
}
