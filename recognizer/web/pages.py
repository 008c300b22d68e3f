"""The pages people see: the landing page, the draw page and their history.

The draw page and the history page store, predict, correct and delete
through the REST API from JavaScript, so they share the API's one code path
into the services. These views only read and render; the pictures of
submissions come from `recognizer.web.images`.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from recognizer.models import Submission
from recognizer.selectors.submissions import submission_list, submission_stats

HISTORY_PAGE_SIZE = 25
# Past this the offset would overflow the database's integers; no one has that many pages.
MAX_PAGE = 10**9


class CountFreePaginator(Paginator):
    """Pages without COUNT(*): reads one id past the page to know if another follows.

    `object_list` must be an ordered queryset. A person with 100,000
    submissions pays for one index range scan per page, not for counting
    every row on every visit. Page numbers past the end are 404s, as with
    Django's own paginator.
    """

    def validate_number(self, number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise Http404("That page number is not a whole number.") from None
        if number < 1:
            raise Http404("That page number is less than 1.")
        if number > MAX_PAGE:
            raise Http404("That page contains no results.")
        return number

    def page(self, number) -> Page:
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        # Skip through the index for ids only, then read the page's own rows:
        # a deep page skips index entries, not whole rows.
        ids = list(self.object_list.values_list("pk", flat=True)[start : start + self.per_page + 1])
        if not ids and number > 1:
            raise Http404("That page contains no results.")
        rows = list(self.object_list.filter(pk__in=ids[: self.per_page])) if ids else []
        return LookaheadPage(rows, number, self, more=len(ids) > self.per_page)


class LookaheadPage(Page):
    """A page that knows whether another follows without knowing how many."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


def _yes_or_no(label: str, either: tuple[str, str], yes: tuple[str, str], no: tuple[str, str]) -> forms.Field:
    """A filter of three choices, read as None (either), True (`yes`) or False (`no`)."""
    return forms.TypedChoiceField(
        label=label,
        choices=[either, yes, no],
        coerce=lambda value: value == yes[0],
        empty_value=None,
        required=False,
    )


class HistoryFilterForm(forms.Form):
    """The history filters, read from the query string; bad values are ignored."""

    digit = forms.TypedChoiceField(
        label="Predicted digit",
        choices=[("", "Any digit")] + [(str(d), str(d)) for d in range(10)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    corrected = _yes_or_no("Correction", ("", "Corrected or not"), ("yes", "Corrected"), ("no", "Not corrected"))
    # The API's parameter and values: the detector's verdict, exactly (unchecked predictions match neither).
    is_digit = _yes_or_no("Digit or not", ("", "Digits or not"), ("true", "Digits"), ("false", "Not digits"))
    source = forms.ChoiceField(label="Source", choices=[("", "Any source"), *Submission.Source.choices], required=False)
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "Digits and numbers"), ("digit", "Digits"), ("number", "Numbers")], required=False
    )

    def filters(self) -> dict:
        """The selector's filters from the fields that are valid; an invalid one is left out."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "predicted_digit": data.get("digit"),
            "corrected": data.get("corrected"),
            "is_digit": data.get("is_digit"),
            "source": data.get("source") or None,
            "kind": data.get("kind") or None,
        }


@require_GET
def landing(request):
    """Explain the product to visitors; send people who are logged in to draw."""
    if request.user.is_authenticated:
        return redirect("recognizer:draw")
    return render(request, "landing.html")


@login_required
@require_GET
def draw(request):
    return render(request, "recognizer/draw.html")


@login_required
@require_GET
def history(request):
    """The person's own submissions, newest first, filtered, one page at a time."""
    form = HistoryFilterForm(request.GET)
    # owner_id keeps staff to their own here too; everyone else only ever sees their own.
    submissions = submission_list(user=request.user, owner_id=request.user.pk, **form.filters())
    page = CountFreePaginator(submissions, HISTORY_PAGE_SIZE).page(request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(value is not None for value in form.filters().values()),
        "stats": submission_stats(user=request.user),
    }
    return render(request, "recognizer/history.html", context)
