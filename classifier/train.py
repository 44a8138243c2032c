"""Training shaped as train_one_epoch / evaluate / main(config), after the paper's recipe."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import timm
import torch
from scipy.special import expit
from timm.utils.model_ema import ModelEmaV3
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from classifier.checkpoint import load_checkpoint, load_model_state, save_checkpoint
from classifier.data import (
    CLASS_NAMES,
    PatientBalancedSampler,
    Sample,
    TrainDataset,
    data_summary,
    pos_weight,
)
from classifier.errors import ImageError, ManifestError, ProfileError
from classifier.inference import (
    autocast,
    cpu_count,
    predictions_from_logits,
    prepare_model,
    resolve_device,
    rotation_logits,
)
from classifier.metrics import choose_threshold, compute_metrics, fit_temperature
from classifier.model import create_model, load_init_weights, parameter_groups
from classifier.profiles import Profile, get_profile
from classifier.transforms import to_input, train_augmentation

# One item of a training or validation set (a crop, its target, its error text); loaders batch them.
Item = tuple[torch.Tensor, float, str]

PRELOAD_BUDGET = 3 << 30  # bytes of decoded crops kept in memory


@dataclass
class TrainConfig:
    profile: str
    train: list[Sample]
    val: list[Sample]
    output: Path
    init: Path | None = None  # local ImageNet weights; random initialisation without
    epochs: int | None = None  # the profile's when None
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    num_workers: int | None = None  # auto: 0 when crops are preloaded on the CPU
    batch_size: int | None = None  # the profile's when None
    max_steps: int | None = None  # cap on steps per epoch (smoke runs, tests)
    preload: bool | None = None  # auto: when the decoded crops fit PRELOAD_BUDGET
    progress: bool = False  # tqdm bars (the CLI turns them on)
    threads: int | None = None  # CPU threads; all cores when None
    time_limit_s: float | None = None  # start no epoch that would end past this (wall clock)
    # "best" or "last" epoch; the profile's when None. Cross-validation forces "last": its
    # held-out fold is watched for curves but must choose nothing.
    select: str | None = None
    # Fit temperature and threshold on the validation patients; otherwise (and when there are
    # none) the profile's values, which cross-validation chose.
    calibrate_on_val: bool = True
    allow_random_init: bool = False  # profiles whose learning rates assume ImageNet weights
    temperature: float | None = None  # when not fitted on validation: these, else the profile's
    threshold: float | None = None
    extra_metadata: dict[str, Any] = field(default_factory=dict)  # stored in the checkpoint
    profile_overrides: dict[str, str] = field(default_factory=dict)  # ablations: --set k=v


@dataclass
class EpochReport:
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    val_loss: float
    val_weighted_f1: float
    val_accuracy: float
    val_roc_auc: float
    lr_head: float
    seconds: float
    best: bool = False


@dataclass
class TrainResult:
    checkpoint: Path
    sha256: str
    best_epoch: int
    metrics: dict[str, float]
    history: list[EpochReport]
    temperature: float = 1.0
    threshold: float = 0.5
    init: str = "random"
    val_targets: list[int] = field(default_factory=list)
    val_probabilities: list[float] = field(default_factory=list)
    val_patients: list[str] = field(default_factory=list)
    per_patient_accuracy: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    val_logits: list[float] = field(default_factory=list)  # mean over rotations, uncalibrated


@dataclass
class Evaluation:
    loss: float
    logits: np.ndarray  # (N, rotations)
    targets: np.ndarray


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader[Item],
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    profile: Profile,
    device: torch.device,
    *,
    max_steps: int | None = None,
    progress: bool = False,
    ema: ModelEmaV3 | None = None,
) -> float:
    """One pass over the training loader; returns the mean loss."""
    model.train()
    total, steps = 0.0, 0
    for crops, targets, errors in tqdm(loader, desc="train", leave=False, disable=not progress):
        _raise_first(errors)
        x = to_input(crops.to(device, non_blocking=True), profile, jitter=True)
        y = _soft_targets(targets.to(device, torch.float32), profile)
        x, y = _mixup(x, y, profile)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            logits = model(x).float().view(-1)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if ema is not None:
            ema.update(model)
        total, steps = total + float(loss.detach()), steps + 1
        if max_steps is not None and steps >= max_steps:
            break
    return total / max(steps, 1)


def _soft_targets(y: torch.Tensor, profile: Profile) -> torch.Tensor:
    """Label smoothing for one logit: 1 -> 1 - s/2, 0 -> s/2."""
    return y * (1 - profile.label_smoothing) + 0.5 * profile.label_smoothing


def _mixup(x: torch.Tensor, y: torch.Tensor, profile: Profile) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al. 2018) on half of the batches: blends of two cells with the blend of
    their targets, which keeps the network from memorising single patients' cells."""
    if not profile.mixup or float(torch.rand(())) >= 0.5:
        return x, y
    lam = float(torch.distributions.Beta(profile.mixup, profile.mixup).sample())
    perm = torch.randperm(x.shape[0], device=x.device)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


def evaluate(
    model: nn.Module,
    loader: DataLoader[Item],
    loss_fn: nn.Module,
    profile: Profile,
    device: torch.device,
    *,
    progress: bool = False,
) -> Evaluation:
    """Logits of every rotation (the paper validates with its test-time rotations) and the
    loss of their mean."""
    model.eval()
    logits, targets = [], []
    with torch.inference_mode():
        for crops, target, errors in tqdm(loader, desc="val", leave=False, disable=not progress):
            _raise_first(errors)
            logits.append(rotation_logits(model, crops, profile, device).cpu())
            targets.append(target)
    if not logits:
        return Evaluation(float("nan"), np.zeros((0, profile.rotations)), np.zeros(0))
    z, y = torch.cat(logits), torch.cat(targets).float()
    loss = float(loss_fn(z.mean(dim=1), y))
    return Evaluation(loss, z.numpy(), y.numpy().astype(int))


def _raise_first(errors: Sequence[str]) -> None:
    bad = [e for e in errors if e]
    if bad:
        raise ImageError(bad[0])


def load_data(
    config: TrainConfig, profile: Profile, device: torch.device
) -> tuple[DataLoader[Item], DataLoader[Item]]:
    fraction = profile.crop / profile.image_size
    n = len(config.train) + len(config.val)
    preload = config.preload
    if preload is None:
        preload = n * 3 * profile.input_size**2 <= PRELOAD_BUDGET
    workers = config.num_workers
    if workers is None:
        workers = 0 if preload and device.type == "cpu" else min(8, cpu_count())
    size = profile.input_size
    train_set = TrainDataset(
        config.train,
        augment=train_augmentation(profile),
        fraction=fraction,
        size=size,
        preload=preload,
    )
    val_set = TrainDataset(config.val, augment=None, fraction=fraction, size=size, preload=preload)
    batch = config.batch_size or profile.batch_size
    pin = device.type == "cuda"
    generator = torch.Generator()
    sampler = (
        PatientBalancedSampler(config.train, generator, profile.patient_weight_power)
        if profile.sampler == "patients"
        else None
    )
    train_loader = DataLoader(
        train_set,
        batch_size=batch,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=profile.drop_last and len(train_set) > batch,
        generator=generator,
        num_workers=workers,
        pin_memory=pin,
    )
    val_loader = DataLoader(val_set, batch_size=batch, num_workers=workers, pin_memory=pin)
    return train_loader, val_loader


@dataclass
class _State:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    init: str
    ema: ModelEmaV3 | None = None  # a moving average when the profile asks for it
    start_epoch: int = 0
    best_f1: float = -math.inf
    history: list[EpochReport] = field(default_factory=list)


def _build_state(config: TrainConfig, profile: Profile, device: torch.device) -> _State:
    torch.manual_seed(config.seed)
    model = create_model(profile)
    init = load_init_weights(model, config.init) if config.init else "random"
    model = prepare_model(model, device)
    optimizer_class = torch.optim.AdamW if profile.optimizer == "adamw" else torch.optim.Adam
    optimizer = optimizer_class(parameter_groups(model, profile), weight_decay=profile.weight_decay)
    scheduler = _scheduler(optimizer, profile, config.epochs or profile.epochs)
    ema = ModelEmaV3(model, decay=profile.ema_decay) if profile.ema_decay else None
    state = _State(model, optimizer, scheduler, init, ema)
    last = config.output / "last.pt"
    if config.resume and last.is_file():
        _resume(state, last, profile)
    return state


class CosineWithWarmup:
    """Epoch -> learning-rate factor: linear warmup, then a cosine to 1% of the peak at the
    last epoch, so no epoch trains at a rate that has collapsed to nothing (a class)."""

    def __init__(self, epochs: int, warmup: int) -> None:
        self.epochs, self.warmup = epochs, warmup

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup:
            return (epoch + 1) / (self.warmup + 1)
        span = max(self.epochs - self.warmup - 1, 1)
        progress = min((epoch - self.warmup) / span, 1.0)
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))


def _scheduler(
    optimizer: torch.optim.Optimizer, profile: Profile, epochs: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if profile.schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, CosineWithWarmup(epochs, profile.warmup_epochs)
        )
    return torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=list(profile.lr_decay_epochs), gamma=profile.lr_decay
    )


def _shipped(state: _State) -> nn.Module:
    """The weights that are evaluated and shipped: the moving average when there is one."""
    shipped: nn.Module = state.ema.module if state.ema is not None else state.model
    return shipped


def _resume(state: _State, path: Path, profile: Profile) -> None:
    data = load_checkpoint(path, expected_profile=profile.name)
    load_model_state(
        path, state.model, data.get("train_model", data["model"]), profile.architecture
    )
    if state.ema is not None:
        load_model_state(
            path, cast(nn.Module, state.ema.module), data["model"], profile.architecture
        )
    state.optimizer.load_state_dict(data["optimizer"])
    state.scheduler.load_state_dict(data["scheduler"])
    state.start_epoch = int(data["epoch"])
    state.best_f1 = float(data.get("best_f1", -math.inf))
    state.history = [EpochReport(**h) for h in data.get("history", [])]
    state.init = str(data.get("init", state.init))


def main(config: TrainConfig, on_epoch: Callable[[EpochReport], None] | None = None) -> TrainResult:
    """Train, keep the epoch with the best validation weighted F1, calibrate on validation,
    and write `model.pt` (plus `last.pt` for resuming) under config.output."""
    profile = get_profile(config.profile, config.profile_overrides)
    _check_inputs(config)
    if profile.requires_init and config.init is None and not config.allow_random_init:
        raise ProfileError(
            f"profile {profile.name!r} assumes ImageNet weights (its learning rates are the "
            "paper's); pass --init FILE, or --allow-random-init to train from scratch anyway"
        )
    epochs = config.epochs or profile.epochs
    device = resolve_device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.threads or cpu_count())
    started = time.perf_counter()
    config.output.mkdir(parents=True, exist_ok=True)
    state = _build_state(config, profile, device)
    train_loader, val_loader = load_data(config, profile, device)
    weight = torch.tensor(pos_weight(config.train) if profile.pos_weight else 1.0, device=device)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)
    base = _base_payload(config, profile, state)
    for epoch in range(state.start_epoch, epochs):
        if _out_of_time(config, state, started):
            break
        report = _run_epoch(
            config,
            profile,
            device,
            state,
            loaders=(train_loader, val_loader),
            loss_fn=loss_fn,
            epoch=epoch,
            epochs=epochs,
        )
        _save_epoch(config, state, base, report)
        if on_epoch is not None:
            on_epoch(report)
    return _finish(config, profile, device, state, val_loader, loss_fn, base)


def _out_of_time(config: TrainConfig, state: _State, started: float) -> bool:
    """True when another epoch, as long as the slowest so far, would overrun the limit."""
    if config.time_limit_s is None or not state.history:
        return False
    slowest = max(h.seconds for h in state.history)
    return time.perf_counter() - started + slowest > config.time_limit_s


def _check_inputs(config: TrainConfig) -> None:
    if not config.train:
        raise ManifestError("no training images")
    overlap = {s.patient for s in config.train} & {s.patient for s in config.val}
    if overlap:
        raise ManifestError(f"patients in both training and validation: {sorted(overlap)[:5]}")


def _run_epoch(
    config: TrainConfig,
    profile: Profile,
    device: torch.device,
    state: _State,
    *,
    loaders: tuple[DataLoader[Item], DataLoader[Item]],
    loss_fn: nn.Module,
    epoch: int,
    epochs: int,
) -> EpochReport:
    # per-epoch seeds make a resumed run repeat exactly what an uninterrupted one does
    torch.manual_seed(config.seed * 1000 + epoch)
    loaders[0].generator.manual_seed(config.seed * 1000 + epoch)
    start = time.perf_counter()
    lr_head = state.optimizer.param_groups[-1]["lr"]
    train_loss = train_one_epoch(
        state.model,
        loaders[0],
        state.optimizer,
        loss_fn,
        profile,
        device,
        max_steps=config.max_steps,
        progress=config.progress,
        ema=state.ema,
    )
    state.scheduler.step()
    ev = evaluate(_shipped(state), loaders[1], loss_fn, profile, device, progress=config.progress)
    metrics = _epoch_metrics(ev)
    report = EpochReport(
        epoch=epoch + 1,
        epochs=epochs,
        train_loss=train_loss,
        val_loss=ev.loss,
        val_weighted_f1=metrics["weighted_f1"],
        val_accuracy=metrics["accuracy"],
        val_roc_auc=metrics["roc_auc"],
        lr_head=lr_head,
        seconds=time.perf_counter() - start,
    )
    # without validation, or when the recipe fixes the epoch count, the last epoch is kept
    select = config.select or profile.select
    score = report.val_weighted_f1 if len(ev.targets) and select == "best" else float(epoch)
    if score > state.best_f1:
        state.best_f1, report.best = score, True
    state.history.append(report)
    return report


def _epoch_metrics(ev: Evaluation) -> dict[str, float]:
    if len(ev.targets) == 0:
        return {"weighted_f1": float("nan"), "accuracy": float("nan"), "roc_auc": float("nan")}
    probs = expit(ev.logits.mean(axis=1))
    return compute_metrics(ev.targets, probs).scalars()


def _base_payload(config: TrainConfig, profile: Profile, state: _State) -> dict[str, Any]:
    return {
        "profile": profile.to_dict(),
        "class_names": list(CLASS_NAMES),
        "data": data_summary(config.train),
        "val_data": data_summary(config.val),
        "seed": config.seed,
        **config.extra_metadata,
        "torch": str(torch.__version__),
        "timm": str(timm.__version__),
    }


def _payload(base: dict[str, Any], state: _State, epoch: int, **extra: Any) -> dict[str, Any]:
    extra_weights = {"train_model": state.model.state_dict()} if state.ema is not None else {}
    return {
        **base,
        **extra_weights,
        "model": _shipped(state).state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "epoch": epoch,
        "init": state.init,
        "best_f1": state.best_f1,
        "history": [asdict(h) for h in state.history],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "threshold": 0.5,
        "temperature": 1.0,
        "metrics": {},
        **extra,
    }


def _save_epoch(
    config: TrainConfig, state: _State, base: dict[str, Any], report: EpochReport
) -> None:
    payload = _payload(base, state, report.epoch, best_epoch=_best_epoch(state))
    save_checkpoint(config.output / "last.pt", payload)
    if report.best:
        save_checkpoint(config.output / "best.pt", payload)


def _best_epoch(state: _State) -> int:
    best = [h.epoch for h in state.history if h.best]
    return best[-1] if best else 0


def _finish(
    config: TrainConfig,
    profile: Profile,
    device: torch.device,
    state: _State,
    val_loader: DataLoader[Item],
    loss_fn: nn.Module,
    base: dict[str, Any],
) -> TrainResult:
    """Reload the best epoch, fit temperature and threshold on validation, write model.pt."""
    best_path = config.output / "best.pt"
    data = load_checkpoint(best_path if best_path.is_file() else config.output / "last.pt")
    load_model_state(best_path, _shipped(state), data["model"], profile.architecture)
    state.optimizer.load_state_dict(data["optimizer"])
    state.scheduler.load_state_dict(data["scheduler"])
    ev = evaluate(_shipped(state), val_loader, loss_fn, profile, device, progress=config.progress)
    fixed = {
        "temperature": config.temperature
        if config.temperature is not None
        else profile.temperature,
        "threshold": config.threshold if config.threshold is not None else profile.threshold,
    }
    calibration = _calibrate(
        ev, [s.patient for s in config.val], profile, fixed, config.calibrate_on_val
    )
    payload = _payload(
        base,
        state,
        int(data["epoch"]),
        best_epoch=int(data["epoch"]),
        temperature=calibration["temperature"],
        threshold=calibration["threshold"],
        metrics=calibration["metrics"],
    )
    path = config.output / "model.pt"
    sha = save_checkpoint(path, payload)
    best_path.unlink(missing_ok=True)
    result = _result(path, sha, int(data["epoch"]), state, calibration, ev, config.val)
    _write_json(config.output / "metrics.json", _result_json(result))
    return result


def _calibrate(
    ev: Evaluation,
    patients: list[str],
    profile: Profile,
    fixed: dict[str, float],
    on_val: bool,
) -> dict[str, Any]:
    """Temperature and threshold fitted on validation (objective from the profile), or the
    `fixed` ones when there is no validation or it must choose nothing; metrics on it."""
    if len(ev.targets) == 0:
        return {**fixed, "metrics": {}, "probabilities": [], "logits": []}
    mean_logits = ev.logits.mean(axis=1)
    if on_val:
        temperature = fit_temperature(mean_logits, ev.targets)
        probs = expit(mean_logits / temperature)
        threshold = choose_threshold(
            ev.targets,
            probs,
            objective=profile.threshold_objective,
            sensitivity_floor=profile.sensitivity_floor,
        )
    else:
        temperature, threshold = fixed["temperature"], fixed["threshold"]
        probs = expit(mean_logits / temperature)
    metrics = compute_metrics(ev.targets, probs, threshold=threshold, patients=patients)
    return {
        "temperature": temperature,
        "threshold": threshold,
        "metrics": {
            **metrics.scalars(),
            "confusion": metrics.confusion,
            "per_patient_accuracy": metrics.per_patient_accuracy,
        },
        "probabilities": [
            p.probability for p in predictions_from_logits(ev.logits, temperature, threshold)
        ],
        "logits": [float(z) for z in mean_logits],
    }


def _result(
    path: Path,
    sha: str,
    best_epoch: int,
    state: _State,
    calibration: dict[str, Any],
    ev: Evaluation,
    val: list[Sample],
) -> TrainResult:
    metrics = calibration["metrics"]
    return TrainResult(
        checkpoint=path,
        sha256=sha,
        best_epoch=best_epoch,
        metrics={k: v for k, v in metrics.items() if isinstance(v, float)},
        history=list(state.history),
        temperature=calibration["temperature"],
        threshold=calibration["threshold"],
        init=state.init,
        val_targets=[int(t) for t in ev.targets],
        val_probabilities=calibration["probabilities"],
        val_patients=[s.patient for s in val],
        per_patient_accuracy=metrics.get("per_patient_accuracy", {}),
        confusion=metrics.get("confusion", []),
        val_logits=calibration["logits"],
    )


def _result_json(result: TrainResult) -> dict[str, Any]:
    data = asdict(result)
    data["checkpoint"] = str(result.checkpoint)
    for key in ("val_targets", "val_probabilities", "val_patients", "val_logits"):
        data.pop(key)
    return data


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=True) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
