"""Training options: ``TrainOptions`` (the one source of them: the CLI and the Train form are built from its fields
and help texts), the recipe defaults per kind of base model, and the checks a run applies before it starts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from tram_core.errors import UserError

KINDS = ("transformer", "baseline")
POOLINGS = ("cls", "mean", "label_attention")
LOSSES = ("bce", "focal", "asl")
CLASS_WEIGHTINGS = ("none", "sqrt")
# ATT&CK's procedure examples as training data (procedure_training): not at all, mixed into the training part, a
# first stage before the reports, or alone (the cold-start model).
PROCEDURE_MODES = ("off", "mix", "pretrain", "only")
PROCEDURE_LABEL_SPACES = ("run", "extend")


# ----------------------------------------------------------------------------------------------- options


@dataclass
class TrainOptions:
    """Every training option, with help text; ``None`` means "the base model's recipe default" (see RECIPES)."""

    base: str = field(default="embedded", metadata={
        "help": "Base model: 'embedded' (bundled all-MiniLM-L6-v2), 'tram-scibert', a hub id, a local folder, "
                "'trained:<id>' to continue from a trained model, or 'baseline' (TF-IDF + logistic regression)."})
    epochs: int | None = field(default=None, metadata={"help": "Passes over the (negative-subsampled) training set."})
    learning_rate: float | None = field(default=None, metadata={"help": "Peak AdamW learning rate of the encoder."})
    head_learning_rate: float | None = field(default=None, metadata={
        "help": "Peak learning rate of the new classifier head (higher than the encoder's: it starts from scratch)."})
    batch_size: int | None = field(default=None, metadata={"help": "Sentences per optimisation step."})
    token_budget: int | None = field(default=None, metadata={
        "help": "If set, batches hold up to this many (padded) tokens instead of a fixed number of sentences."})
    max_length: int | None = field(default=None, metadata={"help": "Truncate sentences to this many tokens."})
    seed: int = field(default=13, metadata={"help": "Seed of the split, sampling, head initialisation and shuffling."})
    negatives_ratio: float | None = field(default=None, metadata={
        "help": "Sentences without a technique sampled per epoch, per sentence with one (resampled every epoch); "
                "0 or less keeps every negative."})
    loss: str | None = field(default=None, metadata={
        "help": "'bce' (binary cross-entropy, with pos_weight), 'focal' (focal loss, gamma 2) or 'asl' "
                "(asymmetric loss, gamma- 4, clip 0.05)."})
    pos_weight: float | None = field(default=None, metadata={
        "help": "Weight of positive labels in BCE (>1 raises recall of rare techniques)."})
    class_weighting: str | None = field(default=None, metadata={
        "help": "'none', or 'sqrt': scale each technique's pos_weight by sqrt(median count / its count)."})
    pooling: str | None = field(default=None, metadata={
        "help": "'cls' (BERT pooler, a BertForSequenceClassification), 'mean' (mean of token vectors + Linear) or "
                "'label_attention' (each technique attends over the tokens with a query of its own)."})
    min_count: int = field(default=10, metadata={
        "help": "Label space: techniques with at least this many labelled sentences (ignored with 'classes')."})
    classes: list[str] | None = field(default=None, metadata={
        "help": "A fixed label space in this order (e.g. TRAM's 50); other techniques are ignored."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of steps with linear learning-rate warm-up."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay (not on biases and LayerNorm)."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    freeze_embeddings: bool | None = field(default=None, metadata={
        "help": "Keep the token embeddings fixed (faster steps on CPU; the vocabulary's meaning is kept)."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout before the classifier head."})
    validation_fraction: float = field(default=0.15, metadata={"help": "Share of reports held out for validation."})
    test_fraction: float = field(default=0.15, metadata={"help": "Share of reports held out for the final test."})
    test_reports: list[int] | None = field(default=None, metadata={
        "help": "Report ids held out as the test set instead of test_fraction: the same test reports keep runs "
                "comparable."})
    device: str | None = field(default=None, metadata={
        "help": "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; None uses the settings."})
    threads: int | None = field(default=None, metadata={"help": "CPU threads for torch; None uses every core."})
    bf16: str = field(default="auto", metadata={
        "help": "'auto' (bf16 autocast on CUDA, and on CPUs with AMX/avx512_bf16), 'on' or 'off'."})
    eval_batch_size: int = field(default=64, metadata={"help": "Sentences per batch when scoring."})
    procedure_examples: str | None = field(default=None, metadata={
        "help": "ATT&CK's procedure examples (how groups and software use each technique) as training data: 'off'; "
                "'mix' (added to the training reports); 'pretrain' (a first stage on them, then the reports); "
                "'only' (them alone: the cold-start model). A run with no labelled technique and this not 'off' "
                "trains on them alone. They never enter validation or test reports, nor any labelled-sentence "
                "count. Default: 'mix' for the embedded model, 'off' for other bases."})
    procedure_ratio: float = field(default=1.0, metadata={
        "help": "mix and pretrain: procedure examples used per training sentence with a technique (sampled by the "
                "seed); 0 or less uses every example in the label space."})
    procedure_label_space: str = field(default="run", metadata={
        "help": "Which procedure examples count: 'run' (the run's techniques; a sub-technique counts as its parent "
                "where only the parent is one of them) or 'extend' (adds every technique with at least min_count "
                "procedure examples to the label space)."})
    procedure_epochs: int = field(default=1, metadata={
        "help": "pretrain: passes over the procedure examples before the reports."})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainOptions":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# Defaults per kind of base model. The embedded MiniLM recipe comes from benchmarks/quality.py runs on a 2-core CPU
# (TRAM 2's 121 reports, grouped split seed 13, 51 techniques): with the head at 2e-3 the model learned only priors
# in 3 epochs (validation micro-F1 0.03); a head learning rate of 1e-2 (a new linear layer on mean-pooled sentence
# vectors needs big steps) gave 0.52 after one epoch, and an encoder at 1e-4 beat 2e-4 (0.44). Frozen token
# embeddings make each CPU step ~1.8x cheaper; max_length 64 keeps 94% of labelled sentences whole (mean 34 tokens).
# Negatives: three sampled per positive, resampled each epoch, with no positive weighting, for 4 epochs. Against one
# negative per positive with pos_weight 3 for 8 epochs (the same number of steps), test micro-F1 at tuned thresholds
# went 0.508 -> 0.525 and macro-F1 0.401 -> 0.431, and the scores stay calibrated (best validation threshold 0.50
# instead of 0.85-0.95, so "ticked above 0.5" means something on the Annotate page).
RECIPES: dict[str, dict] = {
    # class_weighting 'sqrt': on TRAM's 121 reports, 3 split seeds, TRAM's 50 at tuned thresholds, macro-F1
    # +0.016/+0.073/+0.033 over 'none' (mean +0.041), micro-F1 and report-level F1 +0.006 on average
    # (benchmarks/quality.py --seed 13|14|15 --options '{"class_weighting": "sqrt"}').
    # procedure_examples 'mix' (with sqrt): macro-F1 +0.057/+0.081/+0.057 over the recipe before either, micro-F1
    # +0.028/+0.032/+0.024, report-level F1 +0.009/+0.011/+0.018, 337 s of training instead of 205 s on 2 cores.
    "embedded": dict(pooling="mean", epochs=4, learning_rate=1e-4, head_learning_rate=1e-2, batch_size=32,
                     max_length=64, negatives_ratio=3.0, loss="bce", pos_weight=1.0, class_weighting="sqrt",
                     freeze_embeddings=True, procedure_examples="mix"),
    "bert": dict(pooling="cls", epochs=4, learning_rate=3e-5, head_learning_rate=1e-3, batch_size=32,
                 max_length=128, negatives_ratio=3.0, loss="bce", pos_weight=1.0, class_weighting="none",
                 freeze_embeddings=False, procedure_examples="off"),
}


def procedure_mode(options: TrainOptions) -> str:
    """What a run does with ATT&CK's procedure examples: the option when set, else the embedded recipe's 'mix' for
    the embedded model and 'off' for every other base (measured on the embedded model only)."""
    if options.procedure_examples is not None:
        return options.procedure_examples
    return RECIPES["embedded"]["procedure_examples"] if options.base == "embedded" else "off"


def recipe_for(kind: str, pooling_hint: str | None = None) -> dict:
    """The recipe defaults for a base-model kind ('embedded' gets the MiniLM recipe, BERT-size models the other)."""
    recipe = dict(RECIPES["embedded" if kind == "embedded" else "bert"])
    if pooling_hint in POOLINGS:
        recipe["pooling"] = pooling_hint
    return recipe


def resolve_options(options: TrainOptions, recipe: dict) -> TrainOptions:
    """A copy of ``options`` with every ``None`` recipe field filled from ``recipe``; checks the choices."""
    data = options.to_dict()
    for key, value in recipe.items():
        if data.get(key) is None:
            data[key] = value
    resolved = TrainOptions.from_dict(data)
    if resolved.pooling not in POOLINGS:
        raise UserError(f"Unknown pooling {resolved.pooling!r}: use one of {', '.join(POOLINGS)}")
    if resolved.loss not in LOSSES:
        raise UserError(f"Unknown loss {resolved.loss!r}: use one of {', '.join(LOSSES)}")
    if resolved.class_weighting not in CLASS_WEIGHTINGS:
        raise UserError(f"Unknown class weighting {resolved.class_weighting!r}: use one of "
                        f"{', '.join(CLASS_WEIGHTINGS)}")
    if resolved.epochs is not None and resolved.epochs < 1:
        raise UserError(f"epochs must be at least 1, not {resolved.epochs}")
    check_procedure_options(resolved)
    return resolved


def check_procedure_options(options: TrainOptions) -> None:
    """UserError for a procedure-example option that is not one of its choices."""
    if procedure_mode(options) not in PROCEDURE_MODES:
        raise UserError(f"Unknown procedure_examples {options.procedure_examples!r}: use one of "
                        f"{', '.join(PROCEDURE_MODES)}")
    if options.procedure_label_space not in PROCEDURE_LABEL_SPACES:
        raise UserError(f"Unknown procedure_label_space {options.procedure_label_space!r}: use one of "
                        f"{', '.join(PROCEDURE_LABEL_SPACES)}")
    if options.procedure_epochs is None or options.procedure_epochs < 1:
        raise UserError(f"procedure_epochs must be at least 1, not {options.procedure_epochs}")
    if procedure_mode(options) == "pretrain" and options.base == "baseline":
        raise UserError("procedure_examples 'pretrain' needs a transformer base model: the TF-IDF baseline is one "
                        "fit (use 'mix')")
