// The integer kernels and the quantised network of `nnspec-core`, and with
// `std` post-training quantisation of an interpreter network and int8 weight files.

pub use nnspec_core::quant::{
    argmax, conv, dense, dequantize_value, elementwise, pool, quantize_value, recurrent, Output, Requant, WEIGHT_LIMIT,
};
#[cfg(feature = "std")]
pub use nnspec_core::quant::{
    file, full_range_weights, network, Finish, QData, QKind, QNetwork, QNode, QTensor, QuantError, QuantParams, Ranges,
    RecurrentParams,
};

#[cfg(feature = "std")]
pub use std_only::{load, quantize, save};

#[cfg(feature = "std")]
mod std_only {
    use crate::data::Standardizer;
    use crate::error::Error;
    use crate::{Interpreter, Model};
    use nnspec_core::quant::{file, quantize as quantize_plan, QNetwork};
    use nnspec_core::Plan;
    use std::path::Path;

    /// Quantises a trained network (generated or [`Interpreter`]) to int8, calibrating
    /// activation ranges on `calibration` (raw rows of the input's width: the training rows, never the test rows). A
    /// `standardizer` (the CLI's `standardize = true`) is applied before the
    /// f32 network and folded into the int8 input's quantisation, so
    /// [`QNetwork::predict`] reads raw rows.
    ///
    /// ```
    /// use nnspec::{Activation, Loss, Interpreter};
    /// let network = Interpreter::new("Line", 1, &[("out", 1, Activation::Identity)], Loss::Mse).with_params(&[2.0, 0.5])?;
    /// let q = nnspec::quant::quantize(&network, &[-1.0, 0.0, 1.0], None)?;
    /// let y = q.predict(&[0.5]);
    /// assert!((y[0] - 1.5).abs() < 0.02);
    /// # Ok::<(), nnspec::Error>(())
    /// ```
    pub fn quantize(
        model: &dyn Model,
        calibration: &[f32],
        standardizer: Option<&Standardizer>,
    ) -> Result<QNetwork, Error> {
        let network = Interpreter::graph(model.name(), model.nodes().to_vec(), model.loss_kind())?;
        let mut network = network.with_params(model.params())?;
        if network.buffers().len() != model.buffers().len() {
            return Err(Error::Shape(format!("`{}` has buffers its graph does not describe", model.name())));
        }
        network.buffers_mut().copy_from_slice(model.buffers());
        let network = &network;
        let plan = network.plan();
        let width = plan.input.max(1);
        if calibration.is_empty() || calibration.len() % width != 0 {
            return Err(Error::Shape(format!(
                "calibration data of {} values is not a whole number of rows of {} features",
                calibration.len(),
                plan.input
            )));
        }
        if calibration.iter().any(|v| !v.is_finite()) {
            return Err(Error::Config("the calibration data holds NaN or infinity".into()));
        }
        let standardized;
        let (rows, standardization) = match standardizer {
            Some(s) => {
                standardized = {
                    let mut x = calibration.to_vec();
                    s.apply_rows(&mut x);
                    x
                };
                (&standardized[..], Some((s.mean.as_slice(), s.std.as_slice())))
            }
            None => (calibration, None),
        };
        let ranges = network.ranges(rows);
        quantize_plan(plan, network.params(), network.buffers(), standardization, &ranges)
            .map_err(|e| Error::Config(format!("cannot quantise `{}`: {e}", plan.name)))
    }

    /// Saves an int8 network as safetensors, atomically.
    pub fn save(network: &QNetwork, path: impl AsRef<Path>) -> Result<(), Error> {
        let bytes = file::to_bytes(network).map_err(|e| Error::Weights(e.to_string()))?;
        crate::weights::write_atomically(path.as_ref(), &bytes)
    }

    /// Loads the int8 network of `plan` from a file `save` (or `nnspec quantize`) wrote.
    pub fn load(plan: &Plan, path: impl AsRef<Path>) -> Result<QNetwork, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        file::from_bytes(&bytes, plan).map_err(|e| Error::Weights(format!("{}: {e}", path.display())))
    }
}
